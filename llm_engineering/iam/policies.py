"""The IAM policy documents of the tool, as pure functions, and a way to compare documents.

Kept free of AWS calls so that the exact permissions can be read, tested and reused (a preflight check
simulates the deployer's action list) without credentials.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llm_engineering import TOOL_NAME
from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.iam.names import SCHEDULE_GROUP, scheduler_role_name
from llm_engineering.iam.s3_access import execution_role_s3_statements, split_grants
from llm_engineering.tags import MANAGED_BY

PolicyDocument = dict[str, Any]

POLICY_LANGUAGE_VERSION = "2012-10-17"
SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"

# --- The deployer user ------------------------------------------------------------------------------------

SAGEMAKER_CREATE_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateInferenceComponent",
    "sagemaker:AddTags",  # creating with Tags needs it too; and the update step tags what it updated
)
"""Creates: allowed only with this tool's managed-by tag in the request (`aws:RequestTag`)."""

SAGEMAKER_CONFIG_ACTIONS: tuple[str, ...] = ("sagemaker:CreateEndpointConfig",)
"""Endpoint configs: tagged as above, and only on the allowed instance types (`sagemaker:InstanceTypes`)."""

SAGEMAKER_MANAGED_ACTIONS: tuple[str, ...] = (
    "sagemaker:DeleteModel",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:UpdateInferenceComponent",
    "sagemaker:UpdateInferenceComponentRuntimeConfig",
    "sagemaker:DeleteInferenceComponent",
)
"""Changes: only on resources carrying the managed-by tag (`aws:ResourceTag`)."""

SAGEMAKER_USE_ACTIONS: tuple[str, ...] = (
    "sagemaker:DescribeModel",  # a model's environment holds its Hugging Face token: read only the tool's
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
)
"""Invocations and the model read: only on resources carrying the managed-by tag, and only on the types they
apply to (models, endpoints, inference components; no endpoint config)."""

SAGEMAKER_READ_ACTIONS: tuple[str, ...] = (
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeInferenceComponent",
    "sagemaker:ListTags",
)
"""Reads without secrets, on every resource of the account: status, delete and deploy read a resource to learn
whether it is the tool's (its tags), and status counts the other endpoints that bill."""

SAGEMAKER_RESOURCE_ACTIONS: tuple[str, ...] = (
    *SAGEMAKER_CREATE_ACTIONS,
    *SAGEMAKER_CONFIG_ACTIONS,
    *SAGEMAKER_MANAGED_ACTIONS,
    *SAGEMAKER_USE_ACTIONS,
    *SAGEMAKER_READ_ACTIONS,
)
"""SageMaker actions that accept resource ARNs: scoped to the account's models, configs, endpoints, components."""

SAGEMAKER_LIST_ACTIONS: tuple[str, ...] = (
    "sagemaker:ListModels",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListEndpoints",
    "sagemaker:ListInferenceComponents",
)
"""List actions: IAM only accepts `*` as their resource."""

EXECUTION_ROLE_READ_ACTIONS: tuple[str, ...] = (
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
)
POLICY_READ_ACTIONS: tuple[str, ...] = ("iam:GetPolicy", "iam:GetPolicyVersion")
LOG_READ_ACTIONS: tuple[str, ...] = ("logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents")
QUOTA_ACTIONS: tuple[str, ...] = (
    "servicequotas:GetServiceQuota",
    "servicequotas:ListServiceQuotas",
    "servicequotas:ListAWSDefaultServiceQuotas",  # preflight falls back to the defaults when the account list lacks one
)
AUTOSCALING_READ_ACTIONS: tuple[str, ...] = (
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
)
AUTOSCALING_REMOVE_ACTIONS: tuple[str, ...] = (
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:DeleteScalingPolicy",
)
SAGEMAKER_SCALABLE_DIMENSIONS: tuple[str, ...] = (
    "sagemaker:variant:DesiredInstanceCount",
    "sagemaker:inference-component:DesiredCopyCount",
)
"""What delete deregisters: endpoint variants and inference components, nothing of other services."""
# --- Autoscaling and scale to zero (`hosting.autoscaling`): what deploy registers, puts and tags ---
AUTOSCALING_MANAGE_ACTIONS: tuple[str, ...] = (
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
)
AUTOSCALING_TAG_ACTION = "application-autoscaling:TagResource"
ALARM_ACTIONS: tuple[str, ...] = ("cloudwatch:PutMetricAlarm", "cloudwatch:TagResource")
"""The alarms that wake (NoCapacityInvocationFailures) and idle (Invocations) a component scaled to zero. Reading
them (DescribeAlarms on `*`, their tags) and deleting them (only when tagged by the tool) are granted with the
reads of metrics and cleanup below (`_operate_statements`)."""
SCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SCALING_LINKED_ROLE = f"aws-service-role/{SCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
"""The service-linked role the first RegisterScalableTarget of a SageMaker resource creates in the account."""


def _autoscaling_statements(partition: str, account_id: str) -> list[dict]:
    """Register and put on SageMaker's dimensions only; tag only with the tool's tag; alarms of this account."""
    scaling = {
        "application-autoscaling:service-namespace": "sagemaker",
        "application-autoscaling:scalable-dimension": list(SAGEMAKER_SCALABLE_DIMENSIONS),
    }
    targets = f"arn:{partition}:application-autoscaling:*:{account_id}:scalable-target/*"
    return [
        _statement("ManageSageMakerAutoScaling", list(AUTOSCALING_MANAGE_ACTIONS), targets, StringEquals=scaling),
        _statement(
            "TagSageMakerAutoScaling",
            AUTOSCALING_TAG_ACTION,
            targets,
            StringEquals={f"aws:RequestTag/{MANAGED_BY}": TOOL_NAME},
        ),
        _statement("ManageScalingAlarms", list(ALARM_ACTIONS), f"arn:{partition}:cloudwatch:*:{account_id}:alarm:*"),
        _statement(
            "CreateAutoScalingLinkedRole",
            "iam:CreateServiceLinkedRole",
            f"arn:{partition}:iam::{account_id}:role/{SCALING_LINKED_ROLE}",
            StringEquals={"iam:AWSServiceName": SCALING_SERVICE},
        ),
    ]


# --- Metrics, time limits (ENDPOINT_TTL) and cleanup ---
SCHEDULE_ACTIONS: tuple[str, ...] = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:GetSchedule",
    "scheduler:DeleteSchedule",
)
SCHEDULE_GROUP_ACTIONS: tuple[str, ...] = (
    "scheduler:CreateScheduleGroup",
    "scheduler:GetScheduleGroup",
    "scheduler:TagResource",
)
OPERATE_READ_ACTIONS: tuple[str, ...] = (
    "cloudwatch:GetMetricData",
    "cloudwatch:DescribeAlarms",
    "scheduler:ListSchedules",
)
"""Reads that take no resource ARN (IAM accepts only `*`): metrics, alarms and schedules for cleanup."""
ALARM_READ_ACTIONS: tuple[str, ...] = ("cloudwatch:ListTagsForResource",)
ALARM_REMOVE_ACTIONS: tuple[str, ...] = ("cloudwatch:DeleteAlarms",)
AUTOSCALING_TAG_READ_ACTIONS: tuple[str, ...] = ("application-autoscaling:ListTagsForResource",)
OPERATE_ACTIONS: tuple[str, ...] = (
    *SCHEDULE_ACTIONS,
    *SCHEDULE_GROUP_ACTIONS,
    *OPERATE_READ_ACTIONS,
    *ALARM_READ_ACTIONS,
    *ALARM_REMOVE_ACTIONS,
    *AUTOSCALING_TAG_READ_ACTIONS,
)


def scheduler_role_arn(execution_role_arn: str) -> str:
    """The time-limit role beside the execution role (`iam.names.scheduler_role_name`)."""
    path, name = execution_role_arn.rsplit("/", 1)
    return f"{path}/{scheduler_role_name(name)}"


def _operate_statements(partition: str, account_id: str) -> list[dict[str, Any]]:
    """Schedules of the tool's group only; alarms deleted only when they carry the tool's tag."""
    scheduler = f"arn:{partition}:scheduler:*:{account_id}"
    alarms = f"arn:{partition}:cloudwatch:*:{account_id}:alarm:*"
    return [
        _statement("TimeLimitSchedules", list(SCHEDULE_ACTIONS), f"{scheduler}:schedule/{SCHEDULE_GROUP}/*"),
        _statement(
            "TimeLimitScheduleGroup", list(SCHEDULE_GROUP_ACTIONS), f"{scheduler}:schedule-group/{SCHEDULE_GROUP}"
        ),
        _statement("ReadMetricsAlarmsSchedules", list(OPERATE_READ_ACTIONS), "*"),
        _statement("ReadAlarmTags", list(ALARM_READ_ACTIONS), alarms),
        _statement(
            "RemoveTaggedAlarms",
            list(ALARM_REMOVE_ACTIONS),
            alarms,
            StringEquals={f"aws:ResourceTag/{MANAGED_BY}": TOOL_NAME},
        ),
        _statement(
            "ReadScalableTargetTags",
            list(AUTOSCALING_TAG_READ_ACTIONS),
            f"arn:{partition}:application-autoscaling:*:{account_id}:scalable-target/*",
        ),
    ]


DEPLOYER_ACTIONS: tuple[str, ...] = (
    *OPERATE_ACTIONS,
    *SAGEMAKER_RESOURCE_ACTIONS,
    *SAGEMAKER_LIST_ACTIONS,
    "iam:PassRole",
    *EXECUTION_ROLE_READ_ACTIONS,
    *POLICY_READ_ACTIONS,
    "iam:SimulatePrincipalPolicy",
    *LOG_READ_ACTIONS,
    *QUOTA_ACTIONS,
    *AUTOSCALING_READ_ACTIONS,
    *AUTOSCALING_REMOVE_ACTIONS,
    *AUTOSCALING_MANAGE_ACTIONS,
    AUTOSCALING_TAG_ACTION,
    *ALARM_ACTIONS,
    "iam:CreateServiceLinkedRole",
)
"""Every action the deployer policy allows: exactly what deploy, test, delete and preflight call."""

HANDBOOK_MANAGED_POLICIES: tuple[str, ...] = (
    "AmazonSageMakerFullAccess",
    "AWSCloudFormationFullAccess",
    "IAMFullAccess",
    "AmazonEC2ContainerRegistryFullAccess",
    "AmazonS3FullAccess",
)
"""The AWS managed policies the LLM Engineer's Handbook attaches (`--managed-policies`): broad on purpose."""


def aws_managed_policy_arn(partition: str, name: str) -> str:
    """ARN of an AWS managed policy in `partition` (aws, aws-cn, aws-us-gov)."""
    return f"arn:{partition}:iam::aws:policy/{name}"


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    """ARN of a role created at the root path, as this tool creates them."""
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def user_arn(partition: str, account_id: str, user_name: str) -> str:
    """ARN of a user created at the root path, as this tool creates them."""
    return f"arn:{partition}:iam::{account_id}:user/{user_name}"


def policy_arn(partition: str, account_id: str, policy_name: str) -> str:
    """ARN of a customer-managed policy created at the root path."""
    return f"arn:{partition}:iam::{account_id}:policy/{policy_name}"


def _sagemaker_log_groups(partition: str, account_id: str) -> list[str]:
    group = f"arn:{partition}:logs:*:{account_id}:log-group:/aws/sagemaker/*"
    return [group, f"{group}:log-stream:*"]


def _statement(sid: str, actions: Sequence[str] | str, resources: Sequence[str] | str, **condition: Any) -> dict:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _sagemaker_statements(partition: str, account_id: str, instance_types: Sequence[str]) -> list[dict[str, Any]]:
    """Create only what carries the tool's tag (configs on the allowed instance types), change and invoke only
    what carries it, read the rest."""
    sagemaker = f"arn:{partition}:sagemaker:*:{account_id}"
    resources = [
        f"{sagemaker}:model/*",
        f"{sagemaker}:endpoint-config/*",
        f"{sagemaker}:endpoint/*",
        f"{sagemaker}:inference-component/*",
    ]
    requested = {f"aws:RequestTag/{MANAGED_BY}": TOOL_NAME}
    tagged = {f"aws:ResourceTag/{MANAGED_BY}": TOOL_NAME}
    return [
        _statement("CreateTaggedSageMakerHosting", list(SAGEMAKER_CREATE_ACTIONS), resources, StringEquals=requested),
        _statement(
            "CreateTaggedEndpointConfigsOnAllowedInstances",
            list(SAGEMAKER_CONFIG_ACTIONS),
            f"{sagemaker}:endpoint-config/*",
            StringEquals=requested,
            **{
                "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": list(instance_types)},
                "Null": {"sagemaker:InstanceTypes": "false"},  # ForAllValues alone would pass a request without any
            },
        ),
        _statement("ManageTaggedSageMakerHosting", list(SAGEMAKER_MANAGED_ACTIONS), resources, StringEquals=tagged),
        # A statement of their own: none of them takes an endpoint config, which REQUIRE_MFA's split of a shared
        # statement (iam/mfa.py) would leave to them alone.
        _statement(
            "UseTaggedSageMakerHosting",
            list(SAGEMAKER_USE_ACTIONS),
            [f"{sagemaker}:model/*", f"{sagemaker}:endpoint/*", f"{sagemaker}:inference-component/*"],
            StringEquals=tagged,
        ),
        _statement("ReadSageMakerHosting", list(SAGEMAKER_READ_ACTIONS), resources),
        _statement("SageMakerList", list(SAGEMAKER_LIST_ACTIONS), "*"),
    ]


def deployer_policy_document(
    *, partition: str, account_id: str, user_name: str, execution_role_arn: str, instance_types: Sequence[str]
) -> PolicyDocument:
    """The deployer's least-privilege policy: SageMaker hosting of this tool's own resources in this account.

    Regions are left open (`*`) so that switching AWS_REGION does not turn the policy into drift. One limit
    IAM sets: AddTags with the tool's tag in the request is allowed on any SageMaker hosting resource, since IAM
    cannot tell the AddTags of a create from one on an existing resource; a resource tagged that way becomes one
    the deployer may delete.
    """
    return {
        "Version": POLICY_LANGUAGE_VERSION,
        "Statement": [
            *_sagemaker_statements(partition, account_id, instance_types),
            # Time limits: the scheduler's role is passed too. Either role passed to the other service is inert: each
            # role's trust admits only its own service (iam/role.py, iam/scheduler_role.py).
            _statement(
                "PassExecutionRoleToSageMaker",
                "iam:PassRole",
                [execution_role_arn, scheduler_role_arn(execution_role_arn)],
                StringEquals={"iam:PassedToService": [SAGEMAKER_SERVICE, "scheduler.amazonaws.com"]},
            ),
            _statement(
                "ReadExecutionRole",
                list(EXECUTION_ROLE_READ_ACTIONS),
                [execution_role_arn, scheduler_role_arn(execution_role_arn)],
            ),
            *_operate_statements(partition, account_id),  # metrics, time limits and cleanup
            _statement(
                "ReadExecutionRolePolicies",
                list(POLICY_READ_ACTIONS),
                [f"arn:{partition}:iam::{account_id}:policy/*", f"arn:{partition}:iam::aws:policy/*"],
            ),
            _statement(
                "SimulateOwnPermissions", "iam:SimulatePrincipalPolicy", user_arn(partition, account_id, user_name)
            ),
            _statement("ReadSageMakerLogs", list(LOG_READ_ACTIONS), _sagemaker_log_groups(partition, account_id)),
            _statement("ReadServiceQuotas", list(QUOTA_ACTIONS), "*"),
            _statement("ReadAutoScaling", list(AUTOSCALING_READ_ACTIONS), "*"),
            _statement(
                "RemoveSageMakerAutoScaling",
                list(AUTOSCALING_REMOVE_ACTIONS),
                f"arn:{partition}:application-autoscaling:*:{account_id}:scalable-target/*",
                StringEquals={
                    "application-autoscaling:service-namespace": "sagemaker",
                    "application-autoscaling:scalable-dimension": list(SAGEMAKER_SCALABLE_DIMENSIONS),
                },
            ),
            *_autoscaling_statements(partition, account_id),
        ],
    }


# --- The execution role -----------------------------------------------------------------------------------

ECR_PULL_ACTIONS: tuple[str, ...] = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
LOG_WRITE_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
)
METRIC_NAMESPACES = "/aws/sagemaker/*"
"""CloudWatch namespaces the role may write metrics to (`cloudwatch:namespace`): SageMaker's hosting ones
(/aws/sagemaker/Endpoints, /aws/sagemaker/InferenceComponents)."""


def sagemaker_source_arn(partition: str, region: str, account_id: str) -> str:
    """Every SageMaker resource of the account in the region: what may have SageMaker assume the role."""
    return f"arn:{partition}:sagemaker:{region}:{account_id}:*"


def execution_role_trust_policy(account_id: str, *, partition: str, region: str) -> PolicyDocument:
    """Only SageMaker may assume the role, and only for this account's resources in this region
    (`aws:SourceAccount` and `aws:SourceArn`, the confused-deputy guard)."""
    return {
        "Version": POLICY_LANGUAGE_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SAGEMAKER_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": sagemaker_source_arn(partition, region, account_id)},
                },
            }
        ],
    }


def execution_role_permissions(
    *,
    partition: str,
    account_id: str,
    image_repositories: Sequence[str],
    s3_buckets: Sequence[str] = (),
    s3_prefixes: Sequence[S3Location] = (),
    security: Sequence[dict[str, Any]] = (),
) -> PolicyDocument:
    """What the container needs: pull its image from the registries named, write its logs and SageMaker metrics,
    read the listed S3 only.

    `s3_buckets` entries are whole buckets or `bucket/prefix`; `s3_prefixes` are staged models (see s3_access).
    """
    statements: list[dict[str, Any]] = [
        _statement("EcrAuthorization", "ecr:GetAuthorizationToken", "*"),  # the action takes no resource
        _statement("EcrPullImages", list(ECR_PULL_ACTIONS), list(image_repositories)),
        _statement("WriteSageMakerLogs", list(LOG_WRITE_ACTIONS), _sagemaker_log_groups(partition, account_id)),
        _statement(
            "PutSageMakerMetrics",
            "cloudwatch:PutMetricData",
            "*",
            StringLike={"cloudwatch:namespace": METRIC_NAMESPACES},
        ),
    ]
    # --- S3 read: whole buckets as listed, staged models on their prefix only (iam/s3_access.py) ---
    buckets, prefixes = split_grants(s3_buckets)
    statements += execution_role_s3_statements(partition, buckets, [*prefixes, *s3_prefixes])
    # --- VPC network interfaces and the KMS key, only when configured (iam/security_access.py) ---
    statements += security
    return {"Version": POLICY_LANGUAGE_VERSION, "Statement": statements}


# --- Comparing documents ----------------------------------------------------------------------------------

_LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")


def parse_document(value: str | Mapping[str, Any]) -> PolicyDocument:
    """A policy document as IAM returns it (dict, JSON, or URL-encoded JSON) as a dict."""
    if isinstance(value, Mapping):
        return dict(value)
    text = value if value.lstrip().startswith("{") else urllib.parse.unquote(value)
    return json.loads(text)


def _as_sorted_list(value: object) -> list[str]:
    items = list(value) if isinstance(value, Iterable) and not isinstance(value, str | Mapping) else [value]
    return sorted({item if isinstance(item, str) else json.dumps(item) for item in items})


def _canonical_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _LIST_KEYS:
            result[key] = _as_sorted_list(value)
        elif key in {"Principal", "NotPrincipal"} and isinstance(value, Mapping):
            result[key] = {kind: _as_sorted_list(ids) for kind, ids in value.items()}
        elif key == "Condition" and isinstance(value, Mapping):
            result[key] = {
                operator: {name: _as_sorted_list(values) for name, values in pairs.items()}
                for operator, pairs in value.items()
            }
        else:
            result[key] = value
    return result


def canonical(document: str | Mapping[str, Any]) -> PolicyDocument:
    """The document with equivalent spellings unified ("x" vs ["x"], list order), for comparison."""
    parsed = parse_document(document)
    statements = parsed.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    canonical_statements = [_canonical_statement(statement) for statement in statements]
    canonical_statements.sort(key=lambda statement: json.dumps(statement, sort_keys=True))
    return {**parsed, "Statement": canonical_statements}


def same_policy(left: str | Mapping[str, Any], right: str | Mapping[str, Any]) -> bool:
    """True when two documents grant the same thing in the same words (ignoring order and list spelling)."""
    return canonical(left) == canonical(right)


def to_json(document: Mapping[str, Any]) -> str:
    """The compact JSON IAM receives."""
    return json.dumps(document, separators=(",", ":"))
