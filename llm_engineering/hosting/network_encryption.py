"""Where the model runs and what encrypts it: VPC subnets and security groups, network isolation, a KMS key.

`SecuritySpec.from_settings` applies the rules that need no AWS call (network isolation needs weights in S3),
so those stop before any request. A KMS key encrypts the ML storage volume attached to each instance; on
instance types with local NVMe storage it does not encrypt that storage, which the instance's hardware encrypts
(CreateEndpointConfig `KmsKeyId`, botocore 1.43.27 and later: the older text, that the call fails on such types,
is gone from the API reference), and the plan says so. `resolve_security`
then reads what the ids name (EC2 DescribeSubnets / DescribeSecurityGroups, KMS DescribeKey) and refuses
unknown ids, subnets of two VPCs and keys that cannot serve, still before anything is created. The plan adds
`request_fields` to its CreateModel and CreateEndpointConfig.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_engineering.aws import Aws
from llm_engineering.catalogue.instances import has_local_nvme
from llm_engineering.errors import ConfigurationError
from llm_engineering.resources.kms import Key, resolve_key
from llm_engineering.settings import Settings


@dataclass(frozen=True)
class SecuritySpec:
    """VPC_SUBNET_IDS, VPC_SECURITY_GROUP_IDS, ENABLE_NETWORK_ISOLATION and KMS_KEY_ID, checked together."""

    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    network_isolation: bool = False
    kms_key_id: str | None = None
    local_nvme: bool = False
    """The instance type stores on local NVMe, which the key does not encrypt (its hardware does)."""
    require_mfa: bool = False
    """REQUIRE_MFA: the deployer user's creates need MFA credentials (preflight says when they are missing)."""
    deployer_user: str = "sagemaker-deployer"

    @property
    def vpc(self) -> bool:
        return bool(self.subnets)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecuritySpec:
        """The security settings of a deploy, refusing what SageMaker would refuse or what could never load."""
        if settings.enable_network_isolation and not settings.weights_from_s3:
            raise ConfigurationError(
                f"ENABLE_NETWORK_ISOLATION=true cuts the container off every network, so it cannot download "
                f"HF_MODEL_ID={settings.hf_model_id} from the Hub: stage the weights in S3 (make stage-model) and "
                "set MODEL_S3_URI (or MODEL_SOURCE=s3), or unset ENABLE_NETWORK_ISOLATION. Nothing was created."
            )
        return cls(
            subnets=settings.vpc_subnet_ids,
            security_groups=settings.vpc_security_group_ids,
            network_isolation=settings.enable_network_isolation,
            kms_key_id=settings.kms_key_id,
            local_nvme=has_local_nvme(settings.gpu_instance_type),
            require_mfa=settings.require_mfa,
            deployer_user=settings.sagemaker_user_name,
        )


@dataclass(frozen=True)
class Network:
    """The VPC the subnets share, as EC2 described it."""

    vpc_id: str
    subnets: tuple[dict[str, Any], ...]
    security_groups: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class SecurityFacts:
    """What `resolve_security` found: the network and key in use (None where none is configured)."""

    network: Network | None = None
    key: Key | None = None


def _described(ec2: Any, operation: str, key: str, filter_name: str, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """The resources of `ids` EC2 knows in this region; a filter, not the id list, so that every unknown id is
    named at once (the id-list form stops at the first one)."""
    answer = getattr(ec2, operation)(Filters=[{"Name": filter_name, "Values": list(ids)}])
    return list(answer.get(key, []))


def _missing(setting: str, kind: str, missing: list[str], region: str) -> ConfigurationError:
    return ConfigurationError(
        f"{setting}: {kind} {', '.join(missing)} not found in {region} (EC2 {kind}s are regional): check the ids "
        f"with aws ec2 describe-{kind.replace(' ', '-')}s --region {region}, or fix {setting}. Nothing was created."
    )


def resolve_network(aws: Aws, spec: SecuritySpec) -> Network:
    """The subnets and security groups, refusing unknown ids and more than one VPC."""
    ec2 = aws.client("ec2")
    subnets = _described(ec2, "describe_subnets", "Subnets", "subnet-id", spec.subnets)
    missing = [item for item in spec.subnets if item not in {found["SubnetId"] for found in subnets}]
    if missing:
        raise _missing("VPC_SUBNET_IDS", "subnet", missing, aws.region)
    groups = _described(ec2, "describe_security_groups", "SecurityGroups", "group-id", spec.security_groups)
    missing = [item for item in spec.security_groups if item not in {found["GroupId"] for found in groups}]
    if missing:
        raise _missing("VPC_SECURITY_GROUP_IDS", "security group", missing, aws.region)
    vpcs = sorted({found["VpcId"] for found in subnets})
    if len(vpcs) > 1:
        where = ", ".join(f"{found['SubnetId']} in {found['VpcId']}" for found in subnets)
        raise ConfigurationError(
            f"VPC_SUBNET_IDS name subnets of {len(vpcs)} VPCs ({where}): SageMaker puts a model in one VPC, so "
            "list subnets of one VPC only. Nothing was created."
        )
    stray = [f"{found['GroupId']} in {found['VpcId']}" for found in groups if found["VpcId"] != vpcs[0]]
    if stray:
        raise ConfigurationError(
            f"VPC_SECURITY_GROUP_IDS: {', '.join(stray)}, not the subnets' VPC {vpcs[0]}: a security group "
            "only applies in its own VPC; use groups of that VPC. Nothing was created."
        )
    return Network(vpcs[0], tuple(subnets), tuple(groups))


def resolve_security(aws: Aws, spec: SecuritySpec) -> SecurityFacts:
    """What the security settings name, read and checked (nothing when none is set)."""
    return SecurityFacts(
        network=resolve_network(aws, spec) if spec.vpc else None,
        key=resolve_key(aws, spec.kms_key_id) if spec.kms_key_id else None,
    )


def model_fields(spec: SecuritySpec) -> dict[str, Any]:
    """What CreateModel adds: the VPC (VpcConfig) and network isolation."""
    fields: dict[str, Any] = {}
    if spec.vpc:
        fields["VpcConfig"] = {"SecurityGroupIds": list(spec.security_groups), "Subnets": list(spec.subnets)}
    if spec.network_isolation:
        fields["EnableNetworkIsolation"] = True
    return fields


def config_fields(spec: SecuritySpec) -> dict[str, Any]:
    """What CreateEndpointConfig adds: the storage volume's KMS key, as the user named it."""
    return {"KmsKeyId": spec.kms_key_id} if spec.kms_key_id else {}


def plan_lines(spec: SecuritySpec, facts: SecurityFacts) -> list[str]:
    """The plan's lines on network and encryption (none when nothing is configured)."""
    lines = []
    if facts.network is not None:
        lines.append(
            f"  network        VPC {facts.network.vpc_id}, subnets {', '.join(spec.subnets)}, security groups "
            f"{', '.join(spec.security_groups)}"
        )
    if spec.network_isolation:
        lines.append("  isolation      on: the container makes no network call (weights from S3)")
    if facts.key is not None:
        lines.append(f"  storage key    {facts.key.arn} (KMS_KEY_ID={spec.kms_key_id})")
        lines.append(
            "                 encrypts the ML storage volume of each instance; its local NVMe storage is encrypted by "
            "the instance's hardware, not by this key"
            if spec.local_nvme
            else "                 encrypts the ML storage volume of each instance"
        )
    return lines
