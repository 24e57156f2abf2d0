"""`make preflight` with a VPC and REQUIRE_MFA: their rows in the table, VPC reach read from EC2."""

from __future__ import annotations

import sys

import boto3
import pytest

from llm_engineering.cli import run
from llm_engineering.model.deploy import preflight


def _preflight(capsys) -> tuple[int, str, str]:
    sys.argv = ["preflight"]
    with pytest.raises(SystemExit) as exited:
        run(preflight.main)
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_a_private_vpc_warns_and_names_the_missing_endpoints(scenario, monkeypatch, capsys):
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="model", Description="model", VpcId=vpc)["GroupId"]
    monkeypatch.setenv("VPC_SUBNET_IDS", subnet)
    monkeypatch.setenv("VPC_SECURITY_GROUP_IDS", group)
    code, out, err = _preflight(capsys)
    assert code == 0, out + err  # a warning does not block
    flat = " ".join(out.split())
    assert "VPC network warning" in flat
    assert "cannot download HF_MODEL_ID from the Hugging Face Hub" in flat
    assert "com.amazonaws.us-east-1.ecr.dkr (Interface)" in flat


def test_unknown_subnets_stop_preflight_with_one_line(scenario, monkeypatch, capsys):
    monkeypatch.setenv("VPC_SUBNET_IDS", "subnet-0000000000000000a")
    monkeypatch.setenv("VPC_SECURITY_GROUP_IDS", "sg-0000000000000000a")
    code, out, err = _preflight(capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "VPC_SUBNET_IDS: subnet subnet-0000000000000000a not found in us-east-1" in err
