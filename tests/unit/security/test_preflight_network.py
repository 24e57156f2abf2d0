"""Preflight's VPC row against moto's EC2: NAT or not, which VPC endpoints are missing, Hub or staged weights."""

from __future__ import annotations

import boto3
import pytest

from llm_engineering.aws import connect
from llm_engineering.hosting.network_encryption import SecuritySpec
from llm_engineering.preflight.network import check_network

REGION = "us-east-1"


@pytest.fixture
def private(moto_aws: None) -> tuple[SecuritySpec, str]:
    """A VPC with one subnet whose route table has no way out, and a security group."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="model", Description="model", VpcId=vpc)["GroupId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    return SecuritySpec(subnets=(subnet,), security_groups=(group,)), vpc


def _endpoints(vpc: str, *names: str) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    for name in names:
        kind = "Gateway" if name == "s3" else "Interface"
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.{name}", VpcEndpointType=kind)


def test_a_private_subnet_with_hub_weights_warns_of_the_hub_and_each_missing_endpoint(private):
    spec, _vpc = private
    row = check_network(connect(region=REGION), spec, None, hub_weights=True)
    assert row is not None and row.status == "warning"
    assert "cannot download HF_MODEL_ID from the Hugging Face Hub" in row.evidence
    assert "set MODEL_S3_URI" in row.fix
    assert row.details["missing_endpoints"] == [
        f"com.amazonaws.{REGION}.ecr.api (Interface)",
        f"com.amazonaws.{REGION}.ecr.dkr (Interface)",
        f"com.amazonaws.{REGION}.s3 (Gateway)",
        f"com.amazonaws.{REGION}.logs (Interface)",
    ]
    assert row.fix.endswith("create the VPC endpoints " + ", ".join(row.details["missing_endpoints"]))


def test_only_the_endpoints_still_missing_are_named(private):
    spec, vpc = private
    _endpoints(vpc, "ecr.api", "s3")
    row = check_network(connect(region=REGION), spec, None, hub_weights=False)
    assert row is not None and row.status == "warning" and "Hugging Face" not in row.evidence
    assert row.details["missing_endpoints"] == [
        f"com.amazonaws.{REGION}.ecr.dkr (Interface)",
        f"com.amazonaws.{REGION}.logs (Interface)",
    ]


def test_staged_weights_and_every_endpoint_is_ok_without_a_nat(private):
    spec, vpc = private
    _endpoints(vpc, "ecr.api", "ecr.dkr", "s3", "logs")
    row = check_network(connect(region=REGION), spec, None, hub_weights=False)
    assert row is not None and row.status == "ok" and "the VPC endpoints needed exist" in row.evidence


def test_a_route_to_a_nat_gateway_is_ok_even_for_hub_weights(private):
    spec, _vpc = private
    ec2 = boto3.client("ec2", region_name=REGION)
    (table,) = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": list(spec.subnets)}])[
        "RouteTables"
    ]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=spec.subnets[0], AllocationId=address)["NatGateway"]["NatGatewayId"]
    ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    row = check_network(connect(region=REGION), spec, None, hub_weights=True)
    assert row is not None and row.status == "ok" and "every subnet routes to a NAT" in row.evidence


def test_an_internet_gateway_is_no_way_out_for_private_addresses(private):
    spec, vpc = private
    ec2 = boto3.client("ec2", region_name=REGION)
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    (table,) = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": list(spec.subnets)}])[
        "RouteTables"
    ]
    ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    row = check_network(connect(region=REGION), spec, None, hub_weights=True)
    assert row is not None and row.status == "warning"


def test_no_vpc_no_row(moto_aws):
    assert check_network(connect(region=REGION), SecuritySpec(), None, hub_weights=True) is None
