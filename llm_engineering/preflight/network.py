"""Whether a model in a VPC can reach what it loads: the Hub, the image registry, S3 and CloudWatch Logs.

SageMaker gives a VPC model's network interfaces private addresses only, so an internet gateway does not
help: traffic out needs a NAT (a 0.0.0.0/0 route to a NAT gateway, NAT instance or transit gateway), or VPC
endpoints for each AWS service (SageMaker Developer Guide, "Give SageMaker Hosted Endpoints Access to
Resources in Your Amazon VPC"; ECR's "Interface VPC endpoints": ecr.api, ecr.dkr and the S3 gateway for the
image layers). The Hugging Face Hub has no endpoint: without a NAT the weights must be staged in S3.
"""

from __future__ import annotations

from typing import Any

from llm_engineering.aws import Aws
from llm_engineering.hosting.network_encryption import Network, SecuritySpec, resolve_network
from llm_engineering.preflight.report import AWS_FAILURES, CheckResult, describe_failure

NETWORK_CHECK = "VPC network"
ENDPOINT_SERVICES: tuple[tuple[str, str], ...] = (
    ("ecr.api", "Interface"),
    ("ecr.dkr", "Interface"),
    ("s3", "Gateway"),
    ("logs", "Interface"),
)
"""The VPC endpoints a model without a NAT needs: image pull (ECR's API and registry, layers from S3), model
data from S3, and its logs."""
_EGRESS_TARGETS = ("NatGatewayId", "TransitGatewayId", "InstanceId", "NetworkInterfaceId")


def _route_tables(ec2: Any, network: Network, subnets: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each subnet's route table: its own association, else the VPC's main table."""
    explicit = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": list(subnets)}])
    tables: dict[str, dict[str, Any]] = {}
    for table in explicit.get("RouteTables", []):
        for association in table.get("Associations", []):
            if association.get("SubnetId") in subnets:
                tables[association["SubnetId"]] = table
    if len(tables) < len(subnets):
        main = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [network.vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        ).get("RouteTables", [])
        for subnet in subnets:
            if subnet not in tables and main:
                tables[subnet] = main[0]
    return tables


def has_egress(table: dict[str, Any] | None) -> bool:
    """Whether the table sends 0.0.0.0/0 somewhere that translates private addresses (not an internet gateway)."""
    for route in (table or {}).get("Routes", []):
        default = route.get("DestinationCidrBlock") == "0.0.0.0/0" and route.get("State", "active") != "blackhole"
        if default and any(route.get(target) for target in _EGRESS_TARGETS):
            return True
    return False


def missing_endpoints(ec2: Any, network: Network, region: str) -> list[str]:
    """The VPC endpoints of ENDPOINT_SERVICES the VPC lacks, as `service (type)`."""
    answer = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network.vpc_id]}])
    present = {
        item["ServiceName"]
        for item in answer.get("VpcEndpoints", [])
        if item.get("State", "available").lower() in ("available", "pending", "pendingacceptance")
    }
    return [
        f"com.amazonaws.{region}.{name} ({kind})"
        for name, kind in ENDPOINT_SERVICES
        if f"com.amazonaws.{region}.{name}" not in present
    ]


def check_network(aws: Aws, spec: SecuritySpec, network: Network | None, *, hub_weights: bool) -> CheckResult | None:
    """The VPC row (None when no VPC is configured): ok with a NAT, a warning naming what cannot be reached."""
    if not spec.vpc:
        return None
    ec2 = aws.client("ec2")
    try:
        network = network or resolve_network(aws, spec)
        tables = _route_tables(ec2, network, spec.subnets)
        private = [subnet for subnet in spec.subnets if not has_egress(tables.get(subnet))]
        missing = missing_endpoints(ec2, network, aws.region) if private else []
    except AWS_FAILURES as error:
        return CheckResult(
            NETWORK_CHECK,
            "warning",
            f"could not read the routes of VPC_SUBNET_IDS ({describe_failure(error)})",
            "allow ec2:DescribeRouteTables and ec2:DescribeVpcEndpoints, or check the routes yourself",
        )
    where = f"VPC {network.vpc_id}, subnets {', '.join(spec.subnets)}"
    details = {"vpc": network.vpc_id, "private_subnets": private, "missing_endpoints": missing}
    if not private:
        return CheckResult(NETWORK_CHECK, "ok", f"{where}: every subnet routes to a NAT", details=details)
    problems, fixes = [], []
    if hub_weights and not spec.network_isolation:
        problems.append("the container cannot download HF_MODEL_ID from the Hugging Face Hub")
        fixes.append("stage the weights in S3 (make stage-model) and set MODEL_S3_URI, or add a NAT gateway")
    if missing:
        problems.append("ECR, S3 and CloudWatch Logs are reachable only through VPC endpoints, and these are missing")
        fixes.append("create the VPC endpoints " + ", ".join(missing))
    evidence = f"{where}: {', '.join(private)} route to no NAT"
    if not problems:
        return CheckResult(NETWORK_CHECK, "ok", f"{evidence}, and the VPC endpoints needed exist", details=details)
    return CheckResult(NETWORK_CHECK, "warning", f"{evidence}: {'; '.join(problems)}", "; ".join(fixes), details)
