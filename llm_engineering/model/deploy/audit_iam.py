"""`make audit-iam`: keys, MFA, used and unused permissions, foreign policies, with a verdict and fix each.

Exit code 0, also when there are warnings (an audit reports; it does not stop anything).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from llm_engineering.aws import connect
from llm_engineering.cli import ArgumentParser, echo, run
from llm_engineering.iam.audit import audit_iam, render_audit
from llm_engineering.iam.names import check_role_name, check_user_name
from llm_engineering.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="audit_iam",
        description="Audit the deployer user (SAGEMAKER_USER_NAME) and the execution role "
        "(SAGEMAKER_EXECUTION_ROLE_NAME): keys, MFA, what their permissions were used for.",
    )
    parser.add_argument("--json", action="store_true", help="print the audit as JSON")
    args = parser.parse_args(argv)
    settings = load_settings()
    user = check_user_name(settings.sagemaker_user_name)
    role = check_role_name(settings.sagemaker_execution_role_name)
    aws = connect(settings.aws_region, settings.aws_profile)
    report = audit_iam(aws, user, role, now=datetime.now(UTC))
    echo(json.dumps(report.as_dict(), indent=2) if args.json else render_audit(report))
    return 0


if __name__ == "__main__":
    run(main)
