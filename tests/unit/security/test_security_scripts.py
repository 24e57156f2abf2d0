"""`make deploy-inference-endpoint` with the security settings: one line, exit 2 and nothing created for every
mistake; the model in the VPC, isolated, when they are right."""

from __future__ import annotations

import boto3
import pytest
from helpers import nothing_in_sagemaker
from helpers import run_main as invoke

from llm_engineering.model.deploy import deploy

REGION = "us-east-1"
UNKNOWN_SUBNET = "subnet-0000000000000000a"
UNKNOWN_GROUP = "sg-0000000000000000a"


@pytest.fixture
def world(moto_aws) -> dict[str, str]:
    """The execution role, two VPCs with a subnet and a security group each, and a disabled KMS key."""
    boto3.client("iam").create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    ec2 = boto3.client("ec2", region_name=REGION)
    ids = {}
    for name, cidr in (("one", "10.1.0.0/16"), ("two", "10.2.0.0/16")):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        ids[f"vpc-{name}"] = vpc
        ids[f"subnet-{name}"] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "1.0/24"))["Subnet"][
            "SubnetId"
        ]
        ids[f"sg-{name}"] = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    kms = boto3.client("kms", region_name=REGION)
    ids["disabled-key"] = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=ids["disabled-key"])
    return ids


CASES = [
    ({"VPC_SUBNET_IDS": "subnet-xyz", "VPC_SECURITY_GROUP_IDS": "{sg-one}"}, "VPC_SUBNET_IDS='subnet-xyz' is invalid"),
    ({"VPC_SUBNET_IDS": "{subnet-one}", "VPC_SECURITY_GROUP_IDS": "group-1"}, "VPC_SECURITY_GROUP_IDS='group-1' is"),
    ({"VPC_SUBNET_IDS": "{subnet-one}"}, "VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS go together"),
    (
        {"VPC_SUBNET_IDS": ",".join(f"subnet-{n:08x}" for n in range(17)), "VPC_SECURITY_GROUP_IDS": "{sg-one}"},
        "17 ids given, SageMaker's VpcConfig takes at most 16",
    ),
    (
        {"VPC_SUBNET_IDS": "{subnet-one}", "VPC_SECURITY_GROUP_IDS": ",".join(f"sg-{n:08x}" for n in range(6))},
        "6 ids given, SageMaker's VpcConfig takes at most 5",
    ),
    (
        {"VPC_SUBNET_IDS": f"{{subnet-one}},{UNKNOWN_SUBNET}", "VPC_SECURITY_GROUP_IDS": "{sg-one}"},
        f"VPC_SUBNET_IDS: subnet {UNKNOWN_SUBNET} not found in us-east-1",
    ),
    (
        {"VPC_SUBNET_IDS": "{subnet-one}", "VPC_SECURITY_GROUP_IDS": UNKNOWN_GROUP},
        f"VPC_SECURITY_GROUP_IDS: security group {UNKNOWN_GROUP} not found in us-east-1",
    ),
    (
        {"VPC_SUBNET_IDS": "{subnet-one},{subnet-two}", "VPC_SECURITY_GROUP_IDS": "{sg-one}"},
        "VPC_SUBNET_IDS name subnets of 2 VPCs",
    ),
    ({"KMS_KEY_ID": "not-a-key"}, "KMS_KEY_ID='not-a-key' is invalid: must be a KMS key id"),
    ({"KMS_KEY_ID": "alias/no-such-key"}, "KMS_KEY_ID=alias/no-such-key is not a KMS key in us-east-1"),
    ({"ENABLE_NETWORK_ISOLATION": "true"}, "ENABLE_NETWORK_ISOLATION=true cuts the container off every network"),
]


@pytest.mark.parametrize(("variables", "message"), CASES)
def test_bad_security_input_is_one_line_exit_2_and_nothing_created(world, monkeypatch, capsys, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value.format(**world))
    code, out, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in out + err
    assert nothing_in_sagemaker()


def test_a_disabled_or_unknown_key_stops_before_anything(world, monkeypatch, capsys):
    """The key is read before any create."""
    for key, message in ((world["disabled-key"], "is Disabled, not Enabled"), ("alias/none", "is not a KMS key")):
        monkeypatch.setenv("KMS_KEY_ID", key)
        code, _out, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
        assert code == 2 and err.count("\n") == 1 and message in err
        assert nothing_in_sagemaker()


def test_the_model_is_created_in_the_vpc(world, monkeypatch, capsys):
    monkeypatch.setenv("VPC_SUBNET_IDS", world["subnet-one"])
    monkeypatch.setenv("VPC_SECURITY_GROUP_IDS", world["sg-one"])
    code, out, err = invoke(deploy.main, "--yes", "--skip-preflight", "--no-wait", capsys=capsys)
    assert code == 0, err
    assert f"network        VPC {world['vpc-one']}, subnets {world['subnet-one']}" in out
    client = boto3.client("sagemaker", region_name=REGION)
    (model,) = client.list_models()["Models"]
    described = client.describe_model(ModelName=model["ModelName"])
    assert described["VpcConfig"] == {"SecurityGroupIds": [world["sg-one"]], "Subnets": [world["subnet-one"]]}
