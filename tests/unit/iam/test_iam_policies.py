"""The policy documents: exactly the actions and resources the brief of each principal allows."""

from __future__ import annotations

import json

import pytest

from llm_engineering.catalogue.images import image_registries, image_repository_arns
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
INSTANCE_TYPES = ("ml.g5.2xlarge", "ml.g6.2xlarge")
REQUEST_TAG = {"StringEquals": {"aws:RequestTag/llm-engineering:managed-by": "llm-engineering"}}
RESOURCE_TAG = {"StringEquals": {"aws:ResourceTag/llm-engineering:managed-by": "llm-engineering"}}
NO_CONDITION: dict = {}

SAGEMAKER_CREATES = ["CreateModel", "CreateEndpoint", "CreateInferenceComponent", "AddTags"]
SAGEMAKER_MANAGED = [
    "DeleteModel",
    "DeleteEndpointConfig",
    "UpdateEndpoint",
    "DeleteEndpoint",
    "UpdateInferenceComponent",
    "UpdateInferenceComponentRuntimeConfig",
    "DeleteInferenceComponent",
]
SAGEMAKER_USES = ["DescribeModel", "InvokeEndpoint", "InvokeEndpointWithResponseStream"]  # no endpoint config
SAGEMAKER_READS = ["DescribeEndpointConfig", "DescribeEndpoint", "DescribeInferenceComponent", "ListTags"]
SAGEMAKER_LISTS = ["ListModels", "ListEndpointConfigs", "ListEndpoints", "ListInferenceComponents"]
SCALING = {
    "StringEquals": {
        "application-autoscaling:service-namespace": "sagemaker",
        "application-autoscaling:scalable-dimension": [
            "sagemaker:variant:DesiredInstanceCount",
            "sagemaker:inference-component:DesiredCopyCount",
        ],
    }
}
SCALABLE_TARGETS = {f"arn:aws:application-autoscaling:*:{ACCOUNT}:scalable-target/*"}

EXPECTED_DEPLOYER_GRANTS: dict[str, tuple[set[str], dict]] = {
    **{f"sagemaker:{action}": (SAGEMAKER_RESOURCES, REQUEST_TAG) for action in SAGEMAKER_CREATES},
    "sagemaker:CreateEndpointConfig": (
        {f"{SM}:endpoint-config/*"},
        {
            **REQUEST_TAG,
            "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": list(INSTANCE_TYPES)},
            "Null": {"sagemaker:InstanceTypes": "false"},
        },
    ),
    **{f"sagemaker:{action}": (SAGEMAKER_RESOURCES, RESOURCE_TAG) for action in SAGEMAKER_MANAGED},
    **{
        f"sagemaker:{action}": (SAGEMAKER_RESOURCES - {f"{SM}:endpoint-config/*"}, RESOURCE_TAG)
        for action in SAGEMAKER_USES
    },
    **{f"sagemaker:{action}": (SAGEMAKER_RESOURCES, NO_CONDITION) for action in SAGEMAKER_READS},
    **{f"sagemaker:{action}": ({"*"}, NO_CONDITION) for action in SAGEMAKER_LISTS},
    "iam:PassRole": (
        {ROLE_ARN, f"{ROLE_ARN}-ttl"},
        {"StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com", "scheduler.amazonaws.com"]}},
    ),
    "iam:GetRole": ({ROLE_ARN, f"{ROLE_ARN}-ttl"}, NO_CONDITION),
    "iam:GetRolePolicy": ({ROLE_ARN, f"{ROLE_ARN}-ttl"}, NO_CONDITION),
    "iam:ListRolePolicies": ({ROLE_ARN, f"{ROLE_ARN}-ttl"}, NO_CONDITION),
    "iam:ListAttachedRolePolicies": ({ROLE_ARN, f"{ROLE_ARN}-ttl"}, NO_CONDITION),
    # --- metrics, time limits and cleanup ---
    **{
        f"scheduler:{action}": ({f"arn:aws:scheduler:*:{ACCOUNT}:schedule/llm-engineering/*"}, NO_CONDITION)
        for action in ("CreateSchedule", "UpdateSchedule", "GetSchedule", "DeleteSchedule")
    },
    **{
        f"scheduler:{action}": ({f"arn:aws:scheduler:*:{ACCOUNT}:schedule-group/llm-engineering"}, NO_CONDITION)
        for action in ("CreateScheduleGroup", "GetScheduleGroup", "TagResource")
    },
    "cloudwatch:GetMetricData": ({"*"}, NO_CONDITION),
    "cloudwatch:DescribeAlarms": ({"*"}, NO_CONDITION),
    "scheduler:ListSchedules": ({"*"}, NO_CONDITION),
    "cloudwatch:ListTagsForResource": ({f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:*"}, NO_CONDITION),
    "cloudwatch:DeleteAlarms": ({f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:*"}, RESOURCE_TAG),
    "application-autoscaling:ListTagsForResource": (SCALABLE_TARGETS, NO_CONDITION),
    "iam:GetPolicy": ({f"arn:aws:iam::{ACCOUNT}:policy/*", "arn:aws:iam::aws:policy/*"}, NO_CONDITION),
    "iam:GetPolicyVersion": ({f"arn:aws:iam::{ACCOUNT}:policy/*", "arn:aws:iam::aws:policy/*"}, NO_CONDITION),
    "iam:SimulatePrincipalPolicy": ({f"arn:aws:iam::{ACCOUNT}:user/sagemaker-deployer"}, NO_CONDITION),
    "logs:DescribeLogStreams": (LOGS, NO_CONDITION),
    "logs:GetLogEvents": (LOGS, NO_CONDITION),
    "logs:FilterLogEvents": (LOGS, NO_CONDITION),
    "servicequotas:GetServiceQuota": ({"*"}, NO_CONDITION),
    "servicequotas:ListServiceQuotas": ({"*"}, NO_CONDITION),
    "servicequotas:ListAWSDefaultServiceQuotas": ({"*"}, NO_CONDITION),
    "application-autoscaling:DescribeScalableTargets": ({"*"}, NO_CONDITION),
    "application-autoscaling:DescribeScalingPolicies": ({"*"}, NO_CONDITION),
    "application-autoscaling:DeregisterScalableTarget": (SCALABLE_TARGETS, SCALING),
    "application-autoscaling:DeleteScalingPolicy": (SCALABLE_TARGETS, SCALING),
    # autoscaling and scale to zero: register and put on SageMaker's dimensions, tag with the tool's tag only
    "application-autoscaling:RegisterScalableTarget": (SCALABLE_TARGETS, SCALING),
    "application-autoscaling:PutScalingPolicy": (SCALABLE_TARGETS, SCALING),
    "application-autoscaling:TagResource": (SCALABLE_TARGETS, REQUEST_TAG),
    **{
        f"cloudwatch:{action}": ({f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:*"}, NO_CONDITION)
        for action in ("PutMetricAlarm", "TagResource")
    },
    "iam:CreateServiceLinkedRole": (
        {
            f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
        },
        {"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
    ),
}


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def grants(document: dict) -> dict[str, tuple[set[str], dict]]:
    """action -> (resources it is allowed on, the condition of its statement); one statement per action."""
    result: dict[str, tuple[set[str], dict]] = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in _listed(statement["Action"]):
            assert action not in result, f"{action} is granted by two statements"
            result[action] = (set(_listed(statement["Resource"])), statement.get("Condition", {}))
    return result


def deployer_document(partition: str = "aws", role: str = ROLE_ARN) -> dict:
    return deployer_policy_document(
        partition=partition,
        account_id=ACCOUNT,
        user_name="sagemaker-deployer",
        execution_role_arn=role,
        instance_types=INSTANCE_TYPES,
    )


def role_permissions(**values: object) -> dict:
    return execution_role_permissions(
        partition="aws",
        account_id=ACCOUNT,
        image_repositories=image_repository_arns("aws", "us-east-1"),
        **values,  # type: ignore[arg-type]
    )


def test_deployer_policy_grants_exactly_the_tools_actions_on_exactly_these_resources_and_conditions():
    assert grants(deployer_document()) == EXPECTED_DEPLOYER_GRANTS
    assert set(DEPLOYER_ACTIONS) == set(EXPECTED_DEPLOYER_GRANTS)
    assert len(DEPLOYER_ACTIONS) == len(set(DEPLOYER_ACTIONS))


def test_deployer_policy_has_no_wildcard_actions_and_nothing_changes_what_is_not_the_tools():
    granted = grants(deployer_document())
    assert not [action for action in granted if "*" in action]
    assert "FullAccess" not in json.dumps(deployer_document())
    for action, (_, condition) in granted.items():
        service, verb = action.split(":")
        if (service == "sagemaker" and not verb.startswith(("Describe", "List"))) or verb == "DescribeModel":
            tag_keys = {key for pairs in condition.values() for key in pairs}
            assert tag_keys & {
                "aws:RequestTag/llm-engineering:managed-by",
                "aws:ResourceTag/llm-engineering:managed-by",
            }, action


def test_the_instance_allow_list_defaults_to_the_gpu_types_the_tool_knows(monkeypatch):
    from llm_engineering.catalogue.instances import GPU_INSTANCES
    from llm_engineering.iam import DeployerSpec
    from llm_engineering.settings import load_settings

    assert DeployerSpec.from_settings(load_settings()).instance_types == tuple(GPU_INSTANCES)
    assert all(name.startswith(("ml.g", "ml.p")) for name in GPU_INSTANCES)
    monkeypatch.setenv("DEPLOYER_INSTANCE_TYPES", "ml.g5.xlarge, ml.g5.2xlarge")
    assert DeployerSpec.from_settings(load_settings()).instance_types == ("ml.g5.xlarge", "ml.g5.2xlarge")
    monkeypatch.setenv("DEPLOYER_INSTANCE_TYPES", "g5.xlarge")
    with pytest.raises(ConfigurationError, match=r"^DEPLOYER_INSTANCE_TYPES=.* does not look like ml\.<family>"):
        load_settings()


def test_deployer_policy_follows_the_partition():
    document = deployer_document("aws-cn", f"arn:aws-cn:iam::{ACCOUNT}:role/R")
    resources = {r for rs, _ in grants(document).values() for r in rs} - {"*"}
    assert resources and all(r.startswith("arn:aws-cn:") for r in resources)


def test_execution_role_trust_policy_is_sagemaker_for_this_account_and_region_only():
    assert execution_role_trust_policy(ACCOUNT, partition="aws", region="eu-west-1") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:*"},
                },
            }
        ],
    }


EXPECTED_ROLE_GRANTS = {
    "ecr:GetAuthorizationToken": ({"*"}, NO_CONDITION),
    "ecr:BatchGetImage": ({"arn:aws:ecr:us-east-1:763104351884:repository/*"}, NO_CONDITION),
    "ecr:GetDownloadUrlForLayer": ({"arn:aws:ecr:us-east-1:763104351884:repository/*"}, NO_CONDITION),
    "ecr:BatchCheckLayerAvailability": ({"arn:aws:ecr:us-east-1:763104351884:repository/*"}, NO_CONDITION),
    "logs:CreateLogGroup": (LOGS, NO_CONDITION),
    "logs:CreateLogStream": (LOGS, NO_CONDITION),
    "logs:PutLogEvents": (LOGS, NO_CONDITION),
    "logs:DescribeLogStreams": (LOGS, NO_CONDITION),
    "cloudwatch:PutMetricData": ({"*"}, {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
}


def test_execution_role_permissions_without_buckets_grant_no_s3():
    assert grants(role_permissions()) == EXPECTED_ROLE_GRANTS


def test_execution_role_permissions_read_only_the_listed_buckets():
    document = role_permissions(s3_buckets=["models-a", "models.b"])
    assert grants(document) == {
        **EXPECTED_ROLE_GRANTS,
        "s3:ListBucket": ({"arn:aws:s3:::models-a", "arn:aws:s3:::models.b"}, NO_CONDITION),
        "s3:GetObject": ({"arn:aws:s3:::models-a/*", "arn:aws:s3:::models.b/*"}, NO_CONDITION),
    }


def test_image_pulls_are_limited_to_the_registries_the_sdk_resolves_images_from():
    from sagemaker.core import image_uris

    for region in ("us-east-1", "eu-west-1", "me-west-1", "cn-north-1", "us-gov-west-1", "ap-southeast-5"):
        uri = image_uris.retrieve(
            framework="huggingface-llm", region=region, image_scope="inference", instance_type="ml.g5.2xlarge"
        )
        assert image_registries(region) == [uri.split(".", 1)[0]], region
    own = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/tgi:3.3.6"
    assert image_repository_arns("aws", "eu-west-1", own) == [
        "arn:aws:ecr:eu-west-1:763104351884:repository/*",
        "arn:aws:ecr:eu-west-1:111122223333:repository/team/tgi",
    ]
    for framework in ("huggingface-vllm", "huggingface-sglang"):  # every engine's images come from those registries
        uri = image_uris.retrieve(
            framework=framework, region="eu-west-1", image_scope="inference", instance_type="ml.g5.2xlarge"
        )
        assert image_registries("eu-west-1") == [uri.split(".", 1)[0]], framework
    with pytest.raises(ConfigurationError, match="AWS_REGION='xx-nowhere-1' has no published Hugging Face image"):
        image_repository_arns("aws", "xx-nowhere-1")


# --- Every action is one AWS has: botocore's service models name them --------------------------------------

SERVICES = {
    "sagemaker": ("sagemaker", "sagemaker-runtime"),
    "iam": ("iam",),
    "logs": ("logs",),
    "servicequotas": ("service-quotas",),
    "application-autoscaling": ("application-autoscaling",),
    "cloudwatch": ("cloudwatch",),
    "ecr": ("ecr",),
    "sts": ("sts",),
    "s3": ("s3",),
    "scheduler": ("scheduler",),
}
"""IAM's service prefix -> the botocore services whose operations it authorizes."""
PERMISSION_ONLY = {"iam:PassRole": None, "s3:ListBucket": "ListObjectsV2"}
"""IAM actions that are not operation names: PassRole is checked when a call hands a role over; ListBucket
authorizes listing a bucket's objects."""


def unknown_actions(documents: list[dict]) -> list[str]:
    import botocore.session

    session = botocore.session.get_session()
    operations = {
        prefix: {name for service in services for name in session.get_service_model(service).operation_names}
        for prefix, services in SERVICES.items()
    }
    unknown = []
    for document in documents:
        for statement in document["Statement"]:
            for action in _listed(statement["Action"]):
                prefix, name = action.split(":", 1)
                if action in PERMISSION_ONLY:
                    alias = PERMISSION_ONLY[action]
                    if alias is not None and alias not in operations[prefix]:
                        unknown.append(action)
                elif prefix not in operations or name not in operations[prefix]:
                    unknown.append(action)
    return unknown


def test_every_action_of_every_document_is_an_operation_in_botocores_service_models():
    from llm_engineering.iam.scheduler_role import scheduler_permissions, scheduler_trust_policy

    documents = [
        deployer_document(),
        role_permissions(s3_buckets=["models-a"]),
        execution_role_trust_policy(ACCOUNT, partition="aws", region="us-east-1"),
    ]
    assert unknown_actions(documents) == []
    assert unknown_actions([scheduler_permissions("aws", ACCOUNT), scheduler_trust_policy(ACCOUNT)]) == []
    misspelt = {"Statement": [{"Action": ["sagemaker:DescribeEndpoints", "servicequotas:GetQuota", "ecr:Pull"]}]}
    assert unknown_actions([misspelt]) == ["sagemaker:DescribeEndpoints", "servicequotas:GetQuota", "ecr:Pull"]


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
