"""Whether the credentials in use satisfy REQUIRE_MFA's deployer policy (see `iam.mfa`).

Long-term access keys never carry `aws:MultiFactorAuthPresent`, so with REQUIRE_MFA the deployer policy refuses
every create they sign: that is certain from the credentials alone (no session token). Session credentials may
or may not come from an MFA sign-in; only IAM knows, so they pass with that said.
"""

from __future__ import annotations

from llm_engineering.aws import Aws
from llm_engineering.hosting.network_encryption import SecuritySpec
from llm_engineering.iam import Identity
from llm_engineering.preflight.report import CheckResult

MFA_CHECK = "MFA"


def check_mfa(aws: Aws, spec: SecuritySpec, identity: Identity | None) -> CheckResult | None:
    """The MFA row: None without REQUIRE_MFA; blocked for the deployer's long-term key."""
    if not spec.require_mfa or identity is None:
        return None
    if not identity.arn.endswith(f":user/{spec.deployer_user}"):
        return CheckResult(
            MFA_CHECK, "ok", f"REQUIRE_MFA applies to the deployer user {spec.deployer_user}; you are {identity.arn}"
        )
    credentials = aws.session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    if frozen is not None and frozen.token:
        return CheckResult(
            MFA_CHECK, "ok", "session credentials: the deployer policy allows them if they were issued with MFA"
        )
    return CheckResult(
        MFA_CHECK,
        "blocked",
        f"REQUIRE_MFA=true and these are the long-term access key of {spec.deployer_user}, without MFA: its policy "
        "refuses every create, update and delete they sign",
        f"get MFA session credentials: aws sts get-session-token --serial-number arn:{identity.partition}:iam::"
        f"{identity.account_id}:mfa/<device> --token-code <code>, or use a profile with mfa_serial (README, MFA)",
    )
