"""The execution role SageMaker assumes: create, repair drift, delete, and resolve its ARN for deploying.

The role's whole state is the trust policy, one inline policy and the tool's tags, so repairing it means
making exactly that true again: anything else found on the role is removed, each with its own line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_engineering import TOOL_NAME
from llm_engineering.aws import Aws, get_or_none, paginate
from llm_engineering.catalogue.images import image_repository_arns
from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.errors import ConfigurationError, UserFacingError
from llm_engineering.iam.common import caller_identity, check_ownership
from llm_engineering.iam.names import EXECUTION_POLICY_NAME, check_role_name
from llm_engineering.iam.network_encryption import kms_statements, vpc_statements
from llm_engineering.iam.policies import (
    SAGEMAKER_SERVICE,
    PolicyDocument,
    execution_role_permissions,
    execution_role_trust_policy,
    parse_document,
    same_policy,
    to_json,
)
from llm_engineering.resources.endpoints import endpoints_using_role
from llm_engineering.resources.kms import resolve_key
from llm_engineering.settings import Settings
from llm_engineering.tags import read as read_tags
from llm_engineering.tags import tool_tags

ROLE_DESCRIPTION = f"Assumed by SageMaker to run models deployed by {TOOL_NAME}: image pull, logs, metrics."


class ExecutionRoleMissingError(ConfigurationError):
    """The execution role named in the settings does not exist."""


class RoleInUseError(UserFacingError):
    """Live endpoints of this tool run as the role: deleting it would break their containers."""


@dataclass(frozen=True)
class ExecutionRoleSpec:
    """What the settings say the role must be, validated before any request."""

    name: str
    s3_buckets: tuple[str, ...] = ()
    image_uri: str | None = None
    """TGI_IMAGE_URI: an image in your own ECR registry the role must also be able to pull."""
    s3_prefixes: tuple[S3Location, ...] = ()
    """Staged models the role reads (MODEL_S3_URI, or HF_MODEL_ID's stages in MODEL_S3_BUCKET): prefix only."""
    subnets: tuple[str, ...] = ()
    """VPC_SUBNET_IDS: the role creates the model's network interfaces there (with the security groups)."""
    security_groups: tuple[str, ...] = ()
    kms_key_id: str | None = None
    """KMS_KEY_ID: the role uses that key (resolved to its ARN when the role is made)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ExecutionRoleSpec:
        return cls(
            name=check_role_name(settings.sagemaker_execution_role_name),
            s3_buckets=settings.execution_role_s3_buckets,
            image_uri=settings.image_uri or settings.tgi_image_uri,
            s3_prefixes=settings.role_stage_prefixes,
            subnets=settings.vpc_subnet_ids,
            security_groups=settings.vpc_security_group_ids,
            kms_key_id=settings.kms_key_id,
        )


@dataclass
class RoleOutcome:
    """The role's ARN and one line per change made (empty: the role was already right)."""

    arn: str
    changes: list[str] = field(default_factory=list)


def get_role(iam: Any, name: str) -> dict[str, Any] | None:
    """The role, or None when there is no role of that name."""
    answer = get_or_none(iam.get_role, RoleName=name)
    return None if answer is None else answer["Role"]


def role_documents(iam: Any, name: str) -> tuple[list[Mapping[str, Any]], int, int]:
    """Every permission policy of the role (inline, then attached): documents, inline count, attached count."""
    documents: list[Mapping[str, Any]] = []
    inline = list(paginate(iam, "list_role_policies", "PolicyNames", RoleName=name))
    for policy_name in inline:
        answer = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
        documents.append(parse_document(answer["PolicyDocument"]))
    attached = list(paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name))
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        answer = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)
        documents.append(parse_document(answer["PolicyVersion"]["Document"]))
    return documents, len(inline), len(attached)


def ensure_execution_role(aws: Aws, spec: ExecutionRoleSpec, *, force: bool = False) -> RoleOutcome:
    """Create the role, or bring an existing one back to exactly the trust and permissions it should have."""
    iam = aws.client("iam")
    identity = caller_identity(aws)
    trust = execution_role_trust_policy(identity.account_id, partition=identity.partition, region=aws.region)
    permissions = execution_role_permissions(
        partition=identity.partition,
        account_id=identity.account_id,
        image_repositories=image_repository_arns(identity.partition, aws.region, spec.image_uri),
        s3_buckets=spec.s3_buckets,
        s3_prefixes=spec.s3_prefixes,
        security=security_statements(aws, identity.partition, identity.account_id, spec),
    )
    role = get_role(iam, spec.name)
    if role is None:
        role = iam.create_role(
            RoleName=spec.name,
            AssumeRolePolicyDocument=to_json(trust),
            Description=ROLE_DESCRIPTION,
            Tags=tool_tags(),
        )["Role"]
        iam.put_role_policy(RoleName=spec.name, PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=to_json(permissions))
        return RoleOutcome(
            arn=role["Arn"],
            changes=[
                f"Created IAM role {spec.name}, assumable only by {SAGEMAKER_SERVICE} for account "
                f"{identity.account_id} in {aws.region}.",
                f"Put inline policy {EXECUTION_POLICY_NAME} on role {spec.name}: {describe_permissions(spec)}.",
            ],
        )
    outcome = RoleOutcome(arn=role["Arn"])
    if check_ownership("role", spec.name, read_tags(iam, RoleName=spec.name), force=force, action="change it"):
        iam.tag_role(RoleName=spec.name, Tags=tool_tags())
        outcome.changes.append(f"Tagged existing role {spec.name} as managed by {TOOL_NAME} (--force).")
    if not same_policy(role["AssumeRolePolicyDocument"], trust):
        iam.update_assume_role_policy(RoleName=spec.name, PolicyDocument=to_json(trust))
        outcome.changes.append(
            f"Repaired the trust policy of role {spec.name}: only {SAGEMAKER_SERVICE} for account "
            f"{identity.account_id} in {aws.region} may assume it again."
        )
    outcome.changes += _repair_permissions(iam, spec, permissions)
    return outcome


def security_statements(aws: Aws, partition: str, account_id: str, spec: ExecutionRoleSpec) -> list[dict[str, Any]]:
    """The VPC and KMS statements the settings call for (none when neither is set); the key is read for its ARN."""
    key_arn = resolve_key(aws, spec.kms_key_id).arn if spec.kms_key_id else None
    return [
        *vpc_statements(partition, aws.region, account_id, spec.subnets, spec.security_groups),
        *kms_statements(key_arn),
    ]


def _repair_permissions(iam: Any, spec: ExecutionRoleSpec, permissions: PolicyDocument) -> list[str]:
    """Exactly the tool's inline policy, nothing else: restore or repair it, remove every other policy."""
    changes: list[str] = []
    inline = list(paginate(iam, "list_role_policies", "PolicyNames", RoleName=spec.name))
    document = to_json(permissions)
    if EXECUTION_POLICY_NAME not in inline:
        iam.put_role_policy(RoleName=spec.name, PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=document)
        changes.append(f"Restored the missing inline policy {EXECUTION_POLICY_NAME} on role {spec.name}.")
    else:
        current = iam.get_role_policy(RoleName=spec.name, PolicyName=EXECUTION_POLICY_NAME)["PolicyDocument"]
        if not same_policy(current, permissions):
            iam.put_role_policy(RoleName=spec.name, PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=document)
            changes.append(
                f"Repaired inline policy {EXECUTION_POLICY_NAME} on role {spec.name}: its permissions had drifted "
                f"and are again {describe_permissions(spec)}."
            )
    for name in inline:
        if name != EXECUTION_POLICY_NAME:
            iam.delete_role_policy(RoleName=spec.name, PolicyName=name)
            changes.append(f"Removed inline policy {name} from role {spec.name}: not part of its scoped set.")
    for attached in paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=spec.name):
        iam.detach_role_policy(RoleName=spec.name, PolicyArn=attached["PolicyArn"])
        changes.append(f"Detached policy {attached['PolicyArn']} from role {spec.name}: not part of its scoped set.")
    return changes


def describe_permissions(spec: ExecutionRoleSpec) -> str:
    """The role's permissions in a few words."""
    reads = [f"read of S3 bucket(s) {', '.join(spec.s3_buckets)}"] if spec.s3_buckets else []
    if spec.s3_prefixes:
        reads.append(f"read of staged model prefix(es) {', '.join(item.uri for item in spec.s3_prefixes)} only")
    s3 = ", ".join(reads) or "no S3 access"
    extra = (", network interfaces in " + ", ".join(spec.subnets)) if spec.subnets else ""
    extra += f", use of KMS key {spec.kms_key_id}" if spec.kms_key_id else ""
    return f"ECR image pull, CloudWatch Logs and metrics under /aws/sagemaker/*, {s3}{extra}"


def delete_execution_role(aws: Aws, spec: ExecutionRoleSpec, *, force: bool = False) -> list[str]:
    """Delete the role with its policies and instance profiles; an empty list means there was nothing."""
    iam = aws.client("iam")
    role = get_role(iam, spec.name)
    if role is None:
        return []
    check_ownership("role", spec.name, read_tags(iam, RoleName=spec.name), force=force, action="delete it")
    if not force:
        _check_unused(aws, spec.name, role["Arn"])
    changes: list[str] = []
    for name in list(paginate(iam, "list_role_policies", "PolicyNames", RoleName=spec.name)):
        iam.delete_role_policy(RoleName=spec.name, PolicyName=name)
        changes.append(f"Deleted inline policy {name} of role {spec.name}.")
    for attached in list(paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=spec.name)):
        iam.detach_role_policy(RoleName=spec.name, PolicyArn=attached["PolicyArn"])
        changes.append(f"Detached policy {attached['PolicyArn']} from role {spec.name}.")
    for profile in list(paginate(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=spec.name)):
        profile_name = profile["InstanceProfileName"]
        iam.remove_role_from_instance_profile(InstanceProfileName=profile_name, RoleName=spec.name)
        others = [role for role in profile.get("Roles", []) if role["RoleName"] != spec.name]
        if others:
            changes.append(f"Removed role {spec.name} from instance profile {profile_name}.")
        else:  # an instance profile holds one role: without it, it serves nothing
            iam.delete_instance_profile(InstanceProfileName=profile_name)
            changes.append(f"Deleted instance profile {profile_name} (it only held role {spec.name}).")
    iam.delete_role(RoleName=spec.name)
    changes.append(f"Deleted IAM role {spec.name}.")
    return changes


def _check_unused(aws: Aws, name: str, arn: str) -> None:
    """Refuse while live endpoints of this tool run as the role (in the region in use: endpoints are regional)."""
    using = endpoints_using_role(aws.client("sagemaker"), arn)
    if using:
        raise RoleInUseError(
            f"Not deleting IAM role {name}: live endpoint(s) of this tool in {aws.region} run as it "
            f"({', '.join(using)}), and would lose their image pulls, logs and metrics: delete them first "
            f"(make delete-inference-endpoint ENDPOINT_NAME={using[0]}), or pass --force "
            "(make delete-sagemaker-execution-role ARGS=--force)."
        )


def resolve_execution_role_arn(aws: Aws, role_name: str, role_arn: str | None = None) -> str:
    """The role SageMaker should assume: `role_arn` (AWS_ARN_ROLE) when set, else the ARN of the named role."""
    return resolve_execution_role(aws, role_name, role_arn)[0]


def resolve_execution_role(aws: Aws, role_name: str, role_arn: str | None = None) -> tuple[str, dict[str, Any] | None]:
    """The role's ARN, and its description when it was read for it (not when AWS_ARN_ROLE gives the ARN), so a
    caller that needs the role's trust or tags (preflight) does not read it again."""
    if role_arn:
        return role_arn, None
    name = check_role_name(role_name)
    role = get_role(aws.client("iam"), name)
    if role is None:
        raise ExecutionRoleMissingError(
            f"The SageMaker execution role '{name}' does not exist: run make create-sagemaker-execution-role, "
            "or set AWS_ARN_ROLE."
        )
    return role["Arn"], role
