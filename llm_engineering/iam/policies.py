"""The IAM policy documents of the tool, as pure functions, and a way to compare documents.

Kept free of AWS calls so that the exact permissions can be read, tested and reused (a preflight check
simulates the deployer's action list) without credentials.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llm_engineering.iam.s3_access import execution_role_s3_statements, split_grants
from llm_engineering.weights.location import S3Location

PolicyDocument = dict[str, Any]

POLICY_LANGUAGE_VERSION = "2012-10-17"
SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"

# --- The deployer user ------------------------------------------------------------------------------------

SAGEMAKER_RESOURCE_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateModel",
    "sagemaker:DescribeModel",
    "sagemaker:DeleteModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:CreateInferenceComponent",
    "sagemaker:DescribeInferenceComponent",
    "sagemaker:UpdateInferenceComponent",
    "sagemaker:UpdateInferenceComponentRuntimeConfig",
    "sagemaker:DeleteInferenceComponent",
    "sagemaker:AddTags",
    "sagemaker:ListTags",
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
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

DEPLOYER_ACTIONS: tuple[str, ...] = (
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


def deployer_policy_document(
    *, partition: str, account_id: str, user_name: str, execution_role_arn: str
) -> PolicyDocument:
    """The deployer's least-privilege policy: SageMaker hosting in this account and nothing broader.

    Regions are left open (`*`) so that switching AWS_REGION does not turn the policy into drift.
    """
    sagemaker = f"arn:{partition}:sagemaker:*:{account_id}"
    return {
        "Version": POLICY_LANGUAGE_VERSION,
        "Statement": [
            {
                "Sid": "SageMakerHosting",
                "Effect": "Allow",
                "Action": list(SAGEMAKER_RESOURCE_ACTIONS),
                "Resource": [
                    f"{sagemaker}:model/*",
                    f"{sagemaker}:endpoint-config/*",
                    f"{sagemaker}:endpoint/*",
                    f"{sagemaker}:inference-component/*",
                ],
            },
            {"Sid": "SageMakerList", "Effect": "Allow", "Action": list(SAGEMAKER_LIST_ACTIONS), "Resource": "*"},
            {
                "Sid": "PassExecutionRoleToSageMaker",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": execution_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
            },
            {
                "Sid": "ReadExecutionRole",
                "Effect": "Allow",
                "Action": list(EXECUTION_ROLE_READ_ACTIONS),
                "Resource": execution_role_arn,
            },
            {
                "Sid": "ReadExecutionRolePolicies",
                "Effect": "Allow",
                "Action": list(POLICY_READ_ACTIONS),
                "Resource": [f"arn:{partition}:iam::{account_id}:policy/*", f"arn:{partition}:iam::aws:policy/*"],
            },
            {
                "Sid": "SimulateOwnPermissions",
                "Effect": "Allow",
                "Action": "iam:SimulatePrincipalPolicy",
                "Resource": user_arn(partition, account_id, user_name),
            },
            {
                "Sid": "ReadSageMakerLogs",
                "Effect": "Allow",
                "Action": list(LOG_READ_ACTIONS),
                "Resource": _sagemaker_log_groups(partition, account_id),
            },
            {"Sid": "ReadServiceQuotas", "Effect": "Allow", "Action": list(QUOTA_ACTIONS), "Resource": "*"},
            {"Sid": "ReadAutoScaling", "Effect": "Allow", "Action": list(AUTOSCALING_READ_ACTIONS), "Resource": "*"},
            {
                "Sid": "RemoveAutoScaling",
                "Effect": "Allow",
                "Action": list(AUTOSCALING_REMOVE_ACTIONS),
                "Resource": f"arn:{partition}:application-autoscaling:*:{account_id}:scalable-target/*",
            },
        ],
    }


# --- The execution role -----------------------------------------------------------------------------------


def execution_role_trust_policy(account_id: str) -> PolicyDocument:
    """Only SageMaker may assume the role, and only on behalf of this account (confused-deputy guard)."""
    return {
        "Version": POLICY_LANGUAGE_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SAGEMAKER_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def execution_role_permissions(
    *,
    partition: str,
    account_id: str,
    s3_buckets: Sequence[str] = (),
    s3_prefixes: Sequence[S3Location] = (),
) -> PolicyDocument:
    """What the container needs: pull its image, write its logs and metrics, read the listed S3 only.

    `s3_buckets` entries are whole buckets or `bucket/prefix`; `s3_prefixes` are staged models (see s3_access).
    """
    statements: list[dict[str, Any]] = [
        {"Sid": "EcrAuthorization", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            # The Hugging Face images live in AWS-owned accounts, one per region: the account must stay open.
            "Sid": "EcrPullImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"arn:{partition}:ecr:*:*:repository/*",
        },
        {
            "Sid": "WriteSageMakerLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": _sagemaker_log_groups(partition, account_id),
        },
        {"Sid": "PutMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
    ]
    # --- S3 read: whole buckets as listed, staged models on their prefix only (iam/s3_access.py) ---
    buckets, prefixes = split_grants(s3_buckets)
    statements += execution_role_s3_statements(partition, buckets, [*prefixes, *s3_prefixes])
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
