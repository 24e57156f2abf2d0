"""What the execution role needs, only when configured, for a model in a VPC and for a KMS key.

In a VPC, SageMaker creates the model's elastic network interfaces as the execution role (SageMaker Developer
Guide, "Give SageMaker Hosted Endpoints Access to Resources in Your Amazon VPC": CreateNetworkInterface,
CreateNetworkInterfacePermission, DeleteNetworkInterface, DeleteNetworkInterfacePermission and the Describe
calls on network interfaces, VPCs, DHCP options, subnets and security groups). Interfaces may only be created
in the configured subnets with the configured groups; the Describe calls support no resource-level scoping.

With KMS_KEY_ID, the role reads weights staged with SSE-KMS (kms:Decrypt) and SageMaker encrypts the storage
volume with the key on its behalf (kms:CreateGrant for AWS resources, kms:GenerateDataKey*, kms:Encrypt); all
on that one key's ARN only. The deployer, who calls CreateEndpoint and UpdateEndpoint with a config naming the
key, needs the key too: CreateEndpointConfig's `KmsKeyId` says "the KMS key policy must grant permission to the
IAM role that you specify in your CreateEndpoint, UpdateEndpoint requests", and SageMaker's Inference
Recommender reference says the role "must have kms:CreateGrant permission in order to encrypt data on the
storage volume of the endpoints". Which KMS calls SageMaker makes as the caller is not listed anywhere AWS
says (not verifiable here): the deployer gets DescribeKey and CreateGrant for AWS resources through
SageMaker only (`kms:GrantIsForAWSResource`, `kms:ViaService`), as EBS-backed services document their grants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ENI_DESCRIBE_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
ENI_MANAGE_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
KMS_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*")


def _allow(sid: str, actions: Sequence[str] | str, resources: Sequence[str] | str, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def vpc_statements(
    partition: str, region: str, account_id: str, subnets: Sequence[str], security_groups: Sequence[str]
) -> list[dict[str, Any]]:
    """The network-interface permissions of a model in a VPC: interfaces only in these subnets and groups."""
    if not subnets:
        return []
    ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
    interfaces = f"{ec2}:network-interface/*"
    return [
        _allow("DescribeVpcNetwork", list(ENI_DESCRIBE_ACTIONS), "*"),  # Describe* take no resource
        _allow(
            "CreateModelNetworkInterfaces",
            "ec2:CreateNetworkInterface",
            [
                interfaces,
                *(f"{ec2}:subnet/{subnet}" for subnet in subnets),
                *(f"{ec2}:security-group/{group}" for group in security_groups),
            ],
        ),
        _allow("ManageModelNetworkInterfaces", list(ENI_MANAGE_ACTIONS), interfaces),
    ]


def kms_statements(key_arn: str | None) -> list[dict[str, Any]]:
    """Use of the one KMS key: decrypt staged weights, encrypt the storage volume, grants for AWS services only."""
    if key_arn is None:
        return []
    return [
        _allow("UseStorageKey", list(KMS_KEY_ACTIONS), key_arn),
        _allow("GrantStorageKeyToAwsServices", "kms:CreateGrant", key_arn, Bool={"kms:GrantIsForAWSResource": "true"}),
    ]


# --- The deployer: what a deploy reads to check the security settings (hosting/security.py, preflight) ---
DEPLOYER_VPC_READ_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
)


def deployer_security_statements(partition: str, account_id: str, *, vpc: bool, kms_key: bool) -> list[dict[str, Any]]:
    """Reads of the VPC (EC2's Describe calls take no resource) and of the account's KMS keys, when configured;
    with a key, also what `make stage-model` needs to write and check SSE-KMS objects, through S3 only (the key
    may be an alias, unknown to the policy, so the account's keys are named, narrowed by `kms:ViaService`)."""
    statements = []
    keys = f"arn:{partition}:kms:*:{account_id}:key/*"
    if vpc:
        statements.append(_allow("ReadVpcNetwork", list(DEPLOYER_VPC_READ_ACTIONS), "*"))
    if kms_key:
        statements.append(_allow("DescribeStorageKey", "kms:DescribeKey", keys))
        statements.append(
            _allow(
                "GrantStorageKeyToSageMaker",
                "kms:CreateGrant",
                keys,
                Bool={"kms:GrantIsForAWSResource": "true"},
                StringLike={"kms:ViaService": "sagemaker.*.amazonaws.com"},
            )
        )
        statements.append(
            _allow(
                "StageWithStorageKeyThroughS3",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                keys,
                StringLike={"kms:ViaService": "s3.*.amazonaws.com"},
            )
        )
    return statements
