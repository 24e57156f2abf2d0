"""The execution role's VPC and KMS statements: present only when configured, scoped to what is configured."""

from __future__ import annotations

import json

import boto3
from iam_snapshot import ACCOUNT, snapshot

from llm_engineering.model.deploy.create_sagemaker_execution_role import main

ROLE = "SageMakerExecutionRoleLLM"
INLINE = "llm-engineering-execution"
SUBNET = "subnet-0123456789abcdef0"
GROUP = "sg-0123456789abcdef0"


def _statements(iam) -> dict[str, dict]:
    return {item["Sid"]: item for item in snapshot(iam)["roles"][ROLE]["inline"][INLINE]["Statement"]}


def test_no_vpc_no_key_no_ec2_or_kms_permission(iam, run_main):
    assert run_main(main)[0] == 0
    actions = [action for item in _statements(iam).values() for action in item["Action"]]
    assert not [action for action in actions if action.startswith(("ec2:", "kms:"))]


def test_a_vpc_gives_network_interfaces_in_its_subnets_and_groups_only(iam, run_main, monkeypatch):
    monkeypatch.setenv("VPC_SUBNET_IDS", SUBNET)
    monkeypatch.setenv("VPC_SECURITY_GROUP_IDS", GROUP)
    code, out, _ = run_main(main)
    assert code == 0 and f"network interfaces in {SUBNET}" in out
    statements = _statements(iam)
    ec2 = f"arn:aws:ec2:us-east-1:{ACCOUNT}"
    assert statements["CreateModelNetworkInterfaces"] == {
        "Sid": "CreateModelNetworkInterfaces",
        "Effect": "Allow",
        "Action": ["ec2:CreateNetworkInterface"],
        "Resource": sorted([f"{ec2}:network-interface/*", f"{ec2}:security-group/{GROUP}", f"{ec2}:subnet/{SUBNET}"]),
    }
    assert statements["ManageModelNetworkInterfaces"]["Resource"] == [f"{ec2}:network-interface/*"]
    assert statements["DescribeVpcNetwork"]["Action"] == sorted(
        [
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
        ]
    )
    assert not [action for item in statements.values() for action in item["Action"] if action.startswith("kms:")]


def test_a_kms_key_given_by_alias_is_granted_on_its_arn_only(iam, run_main, monkeypatch):
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/models", TargetKeyId=key["KeyId"])
    monkeypatch.setenv("KMS_KEY_ID", "alias/models")
    assert run_main(main)[0] == 0
    statements = _statements(iam)
    assert statements["UseStorageKey"]["Resource"] == [key["Arn"]]
    assert statements["UseStorageKey"]["Action"] == sorted(
        ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"]
    )
    assert statements["GrantStorageKeyToAwsServices"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": ["true"]}}


def test_an_unknown_key_stops_before_the_role_is_created(iam, run_main, monkeypatch):
    monkeypatch.setenv("KMS_KEY_ID", "alias/nothing")
    code, out, err = run_main(main)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "KMS_KEY_ID=alias/nothing is not a KMS key in us-east-1" in err
    assert snapshot(iam)["roles"] == {}


def test_the_deployer_reads_the_vpc_and_key_only_when_configured(iam, run_main, monkeypatch):
    from llm_engineering.model.deploy.create_sagemaker_role import main as create_deployer

    policy = f"arn:aws:iam::{ACCOUNT}:policy/llm-engineering-deployer-sagemaker-deployer"

    def sids() -> set[str]:
        version = iam.get_policy(PolicyArn=policy)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy, VersionId=version)["PolicyVersion"]["Document"]
        document = json.loads(document) if isinstance(document, str) else document
        return {statement["Sid"] for statement in document["Statement"]}

    assert run_main(create_deployer)[0] == 0
    assert not {"ReadVpcNetwork", "DescribeStorageKey"} & sids()
    monkeypatch.setenv("VPC_SUBNET_IDS", SUBNET)
    monkeypatch.setenv("VPC_SECURITY_GROUP_IDS", GROUP)
    monkeypatch.setenv("KMS_KEY_ID", "alias/models")
    assert run_main(create_deployer)[0] == 0
    assert {"ReadVpcNetwork", "DescribeStorageKey", "StageWithStorageKeyThroughS3"} <= sids()
    assert "GrantStorageKeyToSageMaker" in sids()  # CreateEndpoint with a keyed config: the caller's grant


def test_the_deployers_grant_on_the_key_is_for_sagemaker_and_aws_resources_only():
    from llm_engineering.iam.network_encryption import deployer_security_statements

    statements = {
        item["Sid"]: item for item in deployer_security_statements("aws", ACCOUNT, vpc=False, kms_key=True)
    }
    assert statements["GrantStorageKeyToSageMaker"] == {
        "Sid": "GrantStorageKeyToSageMaker",
        "Effect": "Allow",
        "Action": "kms:CreateGrant",
        "Resource": f"arn:aws:kms:*:{ACCOUNT}:key/*",
        "Condition": {
            "Bool": {"kms:GrantIsForAWSResource": "true"},
            "StringLike": {"kms:ViaService": "sagemaker.*.amazonaws.com"},
        },
    }
