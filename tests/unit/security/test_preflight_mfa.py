"""Preflight's MFA row: the deployer's long-term key is refused under REQUIRE_MFA; session credentials pass."""

from __future__ import annotations

import boto3
import botocore.session

from llm_engineering.aws import Aws
from llm_engineering.hosting.network_encryption import SecuritySpec
from llm_engineering.iam import caller_identity
from llm_engineering.preflight.mfa import check_mfa

USER = "sagemaker-deployer"
REQUIRED = SecuritySpec(require_mfa=True, deployer_user=USER)


def _as(key_id: str, secret: str, token: str | None = None) -> Aws:
    session = botocore.session.Session()
    session.set_credentials(key_id, secret, token)
    return Aws(session=session, region="us-east-1")


def _deployer_key() -> tuple[str, str]:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_the_deployers_long_term_key_is_blocked(moto_aws):
    aws = _as(*_deployer_key())
    row = check_mfa(aws, REQUIRED, caller_identity(aws))
    assert row is not None and row.status == "blocked"
    assert "long-term access key of sagemaker-deployer, without MFA" in row.evidence
    assert "aws sts get-session-token --serial-number arn:aws:iam::123456789012:mfa/<device>" in row.fix


def test_session_credentials_pass(moto_aws):
    key_id, secret = _deployer_key()
    aws = _as(key_id, secret, token="session-token")
    row = check_mfa(aws, REQUIRED, caller_identity(_as(key_id, secret)))
    assert row is not None and row.status == "ok" and "session credentials" in row.evidence


def test_someone_else_or_no_requirement(moto_aws):
    aws = _as("testing", "testing")
    assert check_mfa(aws, SecuritySpec(), caller_identity(aws)) is None
    row = check_mfa(aws, REQUIRED, caller_identity(aws))
    assert row is not None and row.status == "ok" and "applies to the deployer user" in row.evidence


def test_the_key_row_shows_the_key_that_passed():
    from llm_engineering.hosting.network_encryption import Key
    from llm_engineering.preflight.kms import check_key

    arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    row = check_key(SecuritySpec(kms_key_id="alias/models"), Key(arn, "1234", "Enabled"), "us-east-1")
    assert row is not None and row.status == "ok"
    assert row.evidence == f"KMS_KEY_ID=alias/models is {arn}, Enabled in us-east-1"
    assert check_key(SecuritySpec(), None, "us-east-1") is None
