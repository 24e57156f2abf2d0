"""What the security settings name, read from EC2 and KMS (moto) before anything is created."""

from __future__ import annotations

import boto3
import pytest

from llm_engineering.aws import connect
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.network_encryption import SecuritySpec, resolve_key, resolve_network, resolve_security


@pytest.fixture
def vpcs(moto_aws: None) -> dict[str, str]:
    """Two VPCs, a subnet in each (and a second in the first), a security group in each."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ids: dict[str, str] = {}
    for name, cidr in (("one", "10.1.0.0/16"), ("two", "10.2.0.0/16")):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        ids[f"vpc-{name}"] = vpc
        ids[f"subnet-{name}"] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "1.0/24"))["Subnet"][
            "SubnetId"
        ]
        ids[f"sg-{name}"] = ec2.create_security_group(GroupName=f"sg-{name}", Description="x", VpcId=vpc)["GroupId"]
    ids["subnet-one-b"] = ec2.create_subnet(VpcId=ids["vpc-one"], CidrBlock="10.1.2.0/24")["Subnet"]["SubnetId"]
    return ids


def test_subnets_and_groups_of_one_vpc_resolve_to_it(vpcs):
    spec = SecuritySpec(subnets=(vpcs["subnet-one"], vpcs["subnet-one-b"]), security_groups=(vpcs["sg-one"],))
    network = resolve_network(connect(region="us-east-1"), spec)
    assert network.vpc_id == vpcs["vpc-one"]
    assert sorted(item["SubnetId"] for item in network.subnets) == sorted([vpcs["subnet-one"], vpcs["subnet-one-b"]])


def test_unknown_subnets_are_all_named(vpcs):
    spec = SecuritySpec(
        subnets=(vpcs["subnet-one"], "subnet-0000000000000000a", "subnet-0000000b"), security_groups=(vpcs["sg-one"],)
    )
    with pytest.raises(ConfigurationError) as refused:
        resolve_network(connect(region="us-east-1"), spec)
    assert str(refused.value).startswith(
        "VPC_SUBNET_IDS: subnet subnet-0000000000000000a, subnet-0000000b not found in us-east-1"
    )
    assert refused.value.exit_code == 2


def test_subnets_in_another_region_are_not_found(vpcs):
    spec = SecuritySpec(subnets=(vpcs["subnet-one"],), security_groups=(vpcs["sg-one"],))
    with pytest.raises(ConfigurationError, match=r"subnet .* not found in eu-west-1"):
        resolve_network(connect(region="eu-west-1"), spec)


def test_unknown_security_group_is_named(vpcs):
    spec = SecuritySpec(subnets=(vpcs["subnet-one"],), security_groups=("sg-0000000000000000a",))
    with pytest.raises(ConfigurationError, match=r"^VPC_SECURITY_GROUP_IDS: security group sg-0000000000000000a not"):
        resolve_network(connect(region="us-east-1"), spec)


def test_subnets_of_two_vpcs_are_refused_with_each_vpc(vpcs):
    spec = SecuritySpec(subnets=(vpcs["subnet-one"], vpcs["subnet-two"]), security_groups=(vpcs["sg-one"],))
    with pytest.raises(ConfigurationError) as refused:
        resolve_network(connect(region="us-east-1"), spec)
    message = str(refused.value)
    assert message.startswith("VPC_SUBNET_IDS name subnets of 2 VPCs")
    assert f"{vpcs['subnet-two']} in {vpcs['vpc-two']}" in message


def test_a_security_group_of_another_vpc_is_refused(vpcs):
    spec = SecuritySpec(subnets=(vpcs["subnet-one"],), security_groups=(vpcs["sg-two"],))
    with pytest.raises(ConfigurationError, match=f"{vpcs['sg-two']} in {vpcs['vpc-two']}, not the subnets' VPC"):
        resolve_network(connect(region="us-east-1"), spec)


def test_an_enabled_key_resolves_by_alias_to_its_arn(moto_aws):
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/models", TargetKeyId=key["KeyId"])
    found = resolve_key(connect(region="us-east-1"), "alias/models")
    assert found.arn == key["Arn"] and found.state == "Enabled"


def test_unknown_disabled_and_foreign_keys_are_refused(moto_aws):
    aws = connect(region="us-east-1")
    with pytest.raises(ConfigurationError, match=r"^KMS_KEY_ID=alias/nothing is not a KMS key in us-east-1"):
        resolve_key(aws, "alias/nothing")
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ConfigurationError, match=r"is Disabled, not Enabled: .*aws kms enable-key"):
        resolve_key(aws, key["KeyId"])
    foreign = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with pytest.raises(ConfigurationError, match="names a key in eu-west-1, but the endpoint is in us-east-1"):
        resolve_key(aws, foreign)


def test_an_asymmetric_key_is_refused(moto_aws):
    key = boto3.client("kms", region_name="us-east-1").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")[
        "KeyMetadata"
    ]
    with pytest.raises(ConfigurationError, match="symmetric ENCRYPT_DECRYPT keys only"):
        resolve_key(connect(region="us-east-1"), key["KeyId"])


def test_nothing_configured_reads_nothing(moto_aws):
    facts = resolve_security(connect(region="us-east-1"), SecuritySpec())
    assert facts.network is None and facts.key is None
