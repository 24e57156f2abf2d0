"""The policy documents: exactly the actions and resources the brief of each principal allows."""

from __future__ import annotations

from collections import defaultdict

import pytest

from llm_engineering.errors import ConfigurationError
from llm_engineering.iam import (
    DEPLOYER_ACTIONS,
    check_profile_name,
    check_role_name,
    check_user_name,
    deployer_policy_document,
    execution_role_permissions,
    execution_role_trust_policy,
    same_policy,
)

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRoleLLM"
SM = f"arn:aws:sagemaker:*:{ACCOUNT}"
SAGEMAKER_RESOURCES = {f"{SM}:model/*", f"{SM}:endpoint-config/*", f"{SM}:endpoint/*", f"{SM}:inference-component/*"}
LOGS = {
    f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/sagemaker/*",
    f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/sagemaker/*:log-stream:*",
}

SAGEMAKER_SCOPED = [
    "CreateModel",
    "DescribeModel",
    "DeleteModel",
    "CreateEndpointConfig",
    "DescribeEndpointConfig",
    "DeleteEndpointConfig",
    "CreateEndpoint",
    "DescribeEndpoint",
    "UpdateEndpoint",
    "DeleteEndpoint",
    "CreateInferenceComponent",
    "DescribeInferenceComponent",
    "UpdateInferenceComponent",
    "UpdateInferenceComponentRuntimeConfig",
    "DeleteInferenceComponent",
    "AddTags",
    "ListTags",
    "InvokeEndpoint",
    "InvokeEndpointWithResponseStream",
]
SAGEMAKER_LISTS = ["ListModels", "ListEndpointConfigs", "ListEndpoints", "ListInferenceComponents"]

EXPECTED_DEPLOYER_GRANTS: dict[str, set[str]] = {
    **{f"sagemaker:{action}": SAGEMAKER_RESOURCES for action in SAGEMAKER_SCOPED},
    **{f"sagemaker:{action}": {"*"} for action in SAGEMAKER_LISTS},
    "iam:PassRole": {ROLE_ARN},
    "iam:GetRole": {ROLE_ARN},
    "iam:GetRolePolicy": {ROLE_ARN},
    "iam:ListRolePolicies": {ROLE_ARN},
    "iam:ListAttachedRolePolicies": {ROLE_ARN},
    "iam:GetPolicy": {f"arn:aws:iam::{ACCOUNT}:policy/*", "arn:aws:iam::aws:policy/*"},
    "iam:GetPolicyVersion": {f"arn:aws:iam::{ACCOUNT}:policy/*", "arn:aws:iam::aws:policy/*"},
    "iam:SimulatePrincipalPolicy": {f"arn:aws:iam::{ACCOUNT}:user/sagemaker-deployer"},
    "logs:DescribeLogStreams": LOGS,
    "logs:GetLogEvents": LOGS,
    "logs:FilterLogEvents": LOGS,
    "servicequotas:GetServiceQuota": {"*"},
    "servicequotas:ListServiceQuotas": {"*"},
    "servicequotas:ListAWSDefaultServiceQuotas": {"*"},
    "application-autoscaling:DescribeScalableTargets": {"*"},
    "application-autoscaling:DescribeScalingPolicies": {"*"},
    "application-autoscaling:DeregisterScalableTarget": {
        f"arn:aws:application-autoscaling:*:{ACCOUNT}:scalable-target/*"
    },
    "application-autoscaling:DeleteScalingPolicy": {f"arn:aws:application-autoscaling:*:{ACCOUNT}:scalable-target/*"},
}


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def grants(document: dict) -> dict[str, set[str]]:
    """action -> resources it is allowed on, over all statements."""
    result: dict[str, set[str]] = defaultdict(set)
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in _listed(statement["Action"]):
            result[action] |= set(_listed(statement["Resource"]))
    return dict(result)


def deployer_document() -> dict:
    return deployer_policy_document(
        partition="aws", account_id=ACCOUNT, user_name="sagemaker-deployer", execution_role_arn=ROLE_ARN
    )


def test_deployer_policy_grants_exactly_the_tools_actions_on_exactly_these_resources():
    assert grants(deployer_document()) == EXPECTED_DEPLOYER_GRANTS
    assert set(DEPLOYER_ACTIONS) == set(EXPECTED_DEPLOYER_GRANTS)
    assert len(DEPLOYER_ACTIONS) == len(set(DEPLOYER_ACTIONS))


def test_deployer_policy_has_no_wildcard_actions_and_passes_the_role_to_sagemaker_only():
    document = deployer_document()
    actions = [action for statement in document["Statement"] for action in _listed(statement["Action"])]
    assert not [action for action in actions if "*" in action]
    assert "FullAccess" not in str(document)
    pass_role = [s for s in document["Statement"] if "iam:PassRole" in _listed(s["Action"])]
    assert pass_role == [
        {
            "Sid": "PassExecutionRoleToSageMaker",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": ROLE_ARN,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        }
    ]
    conditions = [s for s in document["Statement"] if "Condition" in s]
    assert conditions == pass_role


def test_deployer_policy_follows_the_partition():
    document = deployer_policy_document(
        partition="aws-cn",
        account_id=ACCOUNT,
        user_name="u",
        execution_role_arn=f"arn:aws-cn:iam::{ACCOUNT}:role/R",
    )
    resources = {r for rs in grants(document).values() for r in rs} - {"*"}
    assert resources and all(r.startswith("arn:aws-cn:") for r in resources)


def test_execution_role_trust_policy_is_sagemaker_for_this_account_only():
    assert execution_role_trust_policy(ACCOUNT) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ],
    }


EXPECTED_ROLE_GRANTS = {
    "ecr:GetAuthorizationToken": {"*"},
    "ecr:BatchGetImage": {"arn:aws:ecr:*:*:repository/*"},
    "ecr:GetDownloadUrlForLayer": {"arn:aws:ecr:*:*:repository/*"},
    "ecr:BatchCheckLayerAvailability": {"arn:aws:ecr:*:*:repository/*"},
    "logs:CreateLogGroup": LOGS,
    "logs:CreateLogStream": LOGS,
    "logs:PutLogEvents": LOGS,
    "logs:DescribeLogStreams": LOGS,
    "cloudwatch:PutMetricData": {"*"},
}


def test_execution_role_permissions_without_buckets_grant_no_s3():
    assert grants(execution_role_permissions(partition="aws", account_id=ACCOUNT)) == EXPECTED_ROLE_GRANTS


def test_execution_role_permissions_read_only_the_listed_buckets():
    document = execution_role_permissions(partition="aws", account_id=ACCOUNT, s3_buckets=["models-a", "models.b"])
    assert grants(document) == {
        **EXPECTED_ROLE_GRANTS,
        "s3:ListBucket": {"arn:aws:s3:::models-a", "arn:aws:s3:::models.b"},
        "s3:GetObject": {"arn:aws:s3:::models-a/*", "arn:aws:s3:::models.b/*"},
    }


def test_same_policy_ignores_spelling_but_not_meaning():
    base = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    listed = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}}
    wider = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert same_policy(base, listed)
    assert same_policy(
        base,
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow"
        "%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D",
    )
    assert not same_policy(base, wider)


@pytest.mark.parametrize("name", ["sagemaker-deployer", "a", "Name_With+=,.@-", "x" * 64])
def test_valid_iam_names_pass(name):
    assert check_user_name(name) == name
    assert check_role_name(name) == name
    assert check_profile_name(name) == name


@pytest.mark.parametrize("name", ["", "bad name", "x" * 65, "slash/name", "naïve", "[profile]"])
def test_invalid_iam_names_name_the_setting(name):
    with pytest.raises(ConfigurationError) as error:
        check_user_name(name)
    assert str(error.value) == (
        f"SAGEMAKER_USER_NAME={name!r} is invalid: IAM user names are 1-64 letters, digits or + = , . @ _ - "
        "characters. Fix it in .env or the environment."
    )
    with pytest.raises(ConfigurationError, match=r"^SAGEMAKER_EXECUTION_ROLE_NAME="):
        check_role_name(name)
    with pytest.raises(ConfigurationError, match=r"^SAGEMAKER_USER_PROFILE="):
        check_profile_name(name)
