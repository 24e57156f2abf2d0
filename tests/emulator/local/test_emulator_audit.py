"""The IAM audit's verdicts against the emulator's IAM and access advisor, at a chosen date."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from llm_engineering.aws import connect
from llm_engineering.iam.audit import audit_iam, render_audit

USER = "audited"
ROLE = "audited-role"


def test_old_keys_foreign_policies_and_unused_services_each_get_a_verdict(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
    iam = aws.client("iam")
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    foreign = iam.create_policy(PolicyName="wide", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=USER, PolicyArn=foreign)
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")
    later = datetime.now(UTC) + timedelta(days=120)
    report = audit_iam(connect(region="us-east-1"), USER, ROLE, now=later, sleep=lambda _s: None)
    user, role = report.principals
    assert [item["id"] for item in user.keys] == [key] and user.keys[0]["age_days"] >= 119
    assert user.keys[0]["last_used"] is None
    verdicts = {finding.what: finding.fix for finding in user.findings}
    assert verdicts[f"access key {key} is {user.keys[0]['age_days']} days old"] == "make rotate-deployer-key"
    assert verdicts[f"policy {foreign} was not attached by this tool"] == (
        f"aws iam detach-user-policy --user-name {USER} --policy-arn {foreign}"
    )
    assert user.unused_services == ["s3"]
    assert f"user {USER} has no MFA device" in verdicts
    assert role.findings[0].what == "nothing to fix"  # no policy at all: nothing unused, nothing foreign
    text = render_audit(report)
    assert f"  access key     {key} Active" in text and "never used" in text
    assert report.warnings == 4


def test_a_missing_user_and_role_are_findings_not_failures(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
    report = audit_iam(connect(region="us-east-1"), "nobody", "norole", now=datetime.now(UTC), sleep=lambda _s: None)
    assert [finding.fix for item in report.principals for finding in item.findings] == [
        "make create-sagemaker-role",
        "make create-sagemaker-execution-role",
    ]
