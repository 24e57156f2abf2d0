"""The execution role (moto IAM) and PassRole (SimulatePrincipalPolicy answered, the request asserted)."""

from __future__ import annotations

import json

import boto3
import pytest
from preflight_world import ACCOUNT, DEPLOYER_ARN, ROLE, ROLE_ARN

from llm_engineering.aws import connect
from llm_engineering.iam import Identity, execution_role_trust_policy
from llm_engineering.preflight.role import (
    RoleRef,
    allowed,
    check_execution_role,
    check_pass_role,
    trust_problem,
)
from llm_engineering.settings import Settings

IDENTITY = Identity(account_id=ACCOUNT, partition="aws", arn=DEPLOYER_ARN)
ECR_AND_LOGS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ecr:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:log-group:/aws/sagemaker/*"},
    ],
}


def role_check(identity: Identity | None = IDENTITY, **values: object):
    settings = Settings(**values)
    ref = RoleRef.of(settings.sagemaker_execution_role_name, settings.aws_arn_role)
    return check_execution_role(connect("us-east-1"), ref, identity)


def make_role(trust: dict | None = None, policy: dict | None = None, name: str = ROLE) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            trust or execution_role_trust_policy(ACCOUNT, partition="aws", region="us-east-1")
        ),
    )
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))


def test_the_role_the_tool_creates_passes(answers, execution_role):
    answers.calls.clear()
    row, arn = role_check()
    assert arn == ROLE_ARN
    assert row.status == "ok" and row.fix == ""
    assert row.evidence == (
        f"{ROLE_ARN}: trusted by sagemaker.amazonaws.com; allows ECR image pull and CloudWatch Logs writes "
        "(1 inline and 0 attached policy read)"
    )
    assert row.details == {"role_arn": ROLE_ARN, "exists": True, "trusted": True, "missing_actions": []}
    assert [(call.operation, call.params) for call in answers.calls] == [
        ("GetRole", {"RoleName": ROLE}),
        ("ListRolePolicies", {"RoleName": ROLE}),
        ("GetRolePolicy", {"RoleName": ROLE, "PolicyName": "llm-engineering-execution"}),
        ("ListAttachedRolePolicies", {"RoleName": ROLE}),
    ]


def test_a_missing_role_is_blocked_with_the_make_target(moto_aws):
    row, arn = role_check()
    assert arn is None
    assert row.status == "blocked"
    assert row.evidence == (
        f"role '{ROLE}' (SAGEMAKER_EXECUTION_ROLE_NAME) does not exist: SageMaker has no role to run the model"
    )
    assert row.fix == (
        "make create-sagemaker-execution-role, or set SAGEMAKER_EXECUTION_ROLE_NAME / AWS_ARN_ROLE to an existing role"
    )


def test_a_missing_role_named_by_arn(moto_aws):
    row, _ = role_check(aws_arn_role=f"arn:aws:iam::{ACCOUNT}:role/path/Gone")
    assert row.status == "blocked"
    assert row.evidence.startswith("role 'Gone' (AWS_ARN_ROLE) does not exist")
    assert row.fix == "fix AWS_ARN_ROLE, or unset it and run make create-sagemaker-execution-role"


def test_a_role_sagemaker_cannot_assume_is_blocked(moto_aws):
    ec2_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    make_role(ec2_trust, ECR_AND_LOGS)
    row, arn = role_check()
    assert arn == ROLE_ARN
    assert row.status == "blocked"
    assert row.evidence == (
        f"{ROLE_ARN}: its trust policy does not let sagemaker.amazonaws.com assume it (sts:AssumeRole) "
        "(1 inline and 0 attached policy read)"
    )
    # The role lacks the tool's tags: repairing it takes --force.
    assert row.fix == "make create-sagemaker-execution-role ARGS=--force (the role was not created by this tool)"


def test_a_role_lacking_image_pull_is_blocked_and_lacking_logs_warns(moto_aws):
    logs_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}
    make_role(policy=logs_only)
    row, _ = role_check()
    assert row.status == "blocked"
    assert row.evidence == (
        f"{ROLE_ARN}: it cannot pull the image from ECR: ecr:GetAuthorizationToken, "
        "ecr:BatchCheckLayerAvailability, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer not allowed "
        "(1 inline and 0 attached policy read)"
    )
    assert row.details["missing_actions"] == [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]

    ecr_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}
    make_role(policy=ecr_only, name="EcrOnly")
    row, _ = role_check(sagemaker_execution_role_name="EcrOnly")
    assert row.status == "warning"
    assert "it cannot write container logs to CloudWatch Logs (failures could not be diagnosed)" in row.evidence


def test_attached_managed_policies_count(moto_aws):
    iam = boto3.client("iam", region_name="us-east-1")
    make_role()
    policy = iam.create_policy(PolicyName="pull-and-log", PolicyDocument=json.dumps(ECR_AND_LOGS))["Policy"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy["Arn"])
    row, _ = role_check()
    assert row.status == "ok"
    assert row.evidence.endswith("(0 inline and 1 attached policy read)")


def test_trust_for_another_account_and_explicit_denies():
    assert trust_problem(execution_role_trust_policy(ACCOUNT, partition="aws", region="us-east-1"), ACCOUNT) is None
    assert trust_problem(execution_role_trust_policy("999999999999", partition="aws", region="us-east-1"), ACCOUNT) == (
        "it trusts sagemaker.amazonaws.com only on behalf of account(s) 999999999999, not 123456789012"
    )
    other_region = execution_role_trust_policy(ACCOUNT, partition="aws", region="eu-west-1")
    assert trust_problem(other_region, ACCOUNT, "eu-west-1") is None
    assert trust_problem(other_region, ACCOUNT, "us-east-1") == (
        f"it trusts sagemaker.amazonaws.com only for arn:aws:sagemaker:eu-west-1:{ACCOUNT}:*, not for SageMaker in "
        "us-east-1 (aws:SourceArn): run make create-sagemaker-execution-role with AWS_REGION=us-east-1"
    )
    deny = {"Statement": [{"Effect": "Deny", "Action": "ecr:BatchGetImage", "Resource": "*"}]}
    assert allowed([ECR_AND_LOGS], "ecr:BatchGetImage")
    assert not allowed([ECR_AND_LOGS, deny], "ecr:BatchGetImage")
    assert allowed([{"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}], "ECR:BatchGetImage")
    assert not allowed(
        [{"Statement": [{"Effect": "Allow", "NotAction": "ecr:*", "Resource": "*"}]}], "ecr:BatchGetImage"
    )


def test_unreadable_policies_warn(answers, execution_role):
    answers.refuse("iam", "ListRolePolicies", "AccessDenied", "not allowed", 403)
    row, _ = role_check()
    assert row.status == "warning"
    assert "its policies could not be read (ListRolePolicies refused: AccessDenied: not allowed)" in row.evidence
    assert row.fix.startswith("allow iam:GetRole, iam:ListRolePolicies")


def test_a_role_in_another_account_cannot_be_inspected(moto_aws):
    row, arn = role_check(aws_arn_role="arn:aws:iam::999999999999:role/Theirs")
    assert row.status == "warning" and arn == "arn:aws:iam::999999999999:role/Theirs"
    assert row.evidence.startswith("arn:aws:iam::999999999999:role/Theirs is in account 999999999999, not ")


def pass_role(identity: Identity | None = IDENTITY, role_arn: str | None = ROLE_ARN):
    return check_pass_role(connect("us-east-1"), identity, role_arn, "sagemaker-deployer")


@pytest.mark.parametrize(("decision", "status"), [("allowed", "ok"), ("implicitDeny", "blocked")])
def test_pass_role_is_simulated_for_the_caller(answers, decision, status):
    answers.pass_role(decision)
    row = pass_role()
    assert row.status == status
    assert answers.made("iam", "SimulatePrincipalPolicy") == [
        {
            "PolicySourceArn": DEPLOYER_ARN,
            "ActionNames": ["iam:PassRole"],
            "ResourceArns": [ROLE_ARN],
            "ContextEntries": [
                {
                    "ContextKeyName": "iam:PassedToService",
                    "ContextKeyValues": ["sagemaker.amazonaws.com"],
                    "ContextKeyType": "string",
                }
            ],
        }
    ]
    if status == "blocked":
        assert row.evidence == (
            f"{DEPLOYER_ARN} may not pass {ROLE_ARN} to sagemaker.amazonaws.com (iam:PassRole simulated: "
            "implicitDeny): CreateModel would be refused"
        )
        assert row.fix == (
            "deploy as the deployer user (make create-sagemaker-role, then AWS_PROFILE=sagemaker-deployer), or "
            f"grant iam:PassRole on {ROLE_ARN} with condition iam:PassedToService=sagemaker.amazonaws.com"
        )
    else:
        assert row.evidence == f"{DEPLOYER_ARN} may pass {ROLE_ARN} to sagemaker.amazonaws.com (simulated)"


def test_pass_role_simulation_denied_is_a_warning(answers):
    answers.refuse("iam", "SimulatePrincipalPolicy", "AccessDenied", "no simulate", 403)
    row = pass_role()
    assert row.status == "warning"
    assert row.evidence == (
        f"not checked for {DEPLOYER_ARN} (SimulatePrincipalPolicy refused: AccessDenied: no simulate)"
    )


def test_an_assumed_role_is_simulated_as_its_role(answers, execution_role):
    answers.pass_role("allowed")
    assumed = Identity(ACCOUNT, "aws", f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/me@example.com")
    assert pass_role(assumed).status == "ok"
    assert answers.made("iam", "SimulatePrincipalPolicy")[0]["PolicySourceArn"] == ROLE_ARN
    # Without iam:GetRole the path-less role ARN is simulated.
    answers.refuse("iam", "GetRole", "AccessDenied", "", 403)
    other = Identity(ACCOUNT, "aws", f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/me")
    pass_role(other)
    assert answers.made("iam", "SimulatePrincipalPolicy")[1]["PolicySourceArn"] == f"arn:aws:iam::{ACCOUNT}:role/Admin"


def test_pass_role_for_root_federated_and_without_role(answers):
    root = pass_role(Identity(ACCOUNT, "aws", f"arn:aws:iam::{ACCOUNT}:root"))
    assert root.status == "ok" and root.evidence.endswith("is the account root: it may pass any role")
    federated = pass_role(Identity(ACCOUNT, "aws", f"arn:aws:sts::{ACCOUNT}:federated-user/bob"))
    assert federated.status == "warning"
    assert federated.evidence.startswith("not checked: IAM simulates users and roles only")
    no_role = pass_role(role_arn=None)
    assert no_role.status == "warning"
    assert no_role.evidence == "not checked: there is no execution role to pass yet"
    assert answers.made("iam", "SimulatePrincipalPolicy") == []
