"""Create (or repair, or with --delete remove) the IAM role SageMaker assumes to run the model.

make create-sagemaker-execution-role
make delete-sagemaker-execution-role
"""

from __future__ import annotations

from llm_engineering.aws import connect
from llm_engineering.cli import ArgumentParser, add_force, echo, run
from llm_engineering.iam.role import ExecutionRoleSpec, delete_execution_role, ensure_execution_role
from llm_engineering.iam.scheduler_role import delete_scheduler_role, ensure_scheduler_role
from llm_engineering.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="create_sagemaker_execution_role",
        description="Create or repair the role SageMaker assumes (SAGEMAKER_EXECUTION_ROLE_NAME).",
    )
    parser.add_argument("--delete", action="store_true", help="delete the role with its policies")
    add_force(
        parser,
        "act on a role of that name even if this tool did not create it, and delete it even while endpoints use it",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    spec = ExecutionRoleSpec.from_settings(settings)
    aws = connect(settings.aws_region, settings.aws_profile)

    if args.delete:
        changes = delete_execution_role(aws, spec, force=args.force)
        if changes:  # time limits (ENDPOINT_TTL): its role goes with the execution role (said first)
            changes = delete_scheduler_role(aws, spec.name, force=args.force) + changes
        for line in changes or [f"IAM role {spec.name} does not exist: nothing to delete."]:
            echo(line)
        return 0

    outcome = ensure_execution_role(aws, spec, force=args.force)
    for line in outcome.changes or [f"IAM role {spec.name} is up to date: nothing changed."]:
        echo(line)
    for line in ensure_scheduler_role(aws, spec.name, force=args.force):  # time limits (ENDPOINT_TTL)
        echo(line)
    echo(f"Role ARN: {outcome.arn}")
    return 0


if __name__ == "__main__":
    run(main)
