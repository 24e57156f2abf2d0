"""The account's endpoint quota for the instance type, against what the region's endpoints already hold.

New accounts have a quota of 0 for most GPU types ("ml.g5.2xlarge for endpoint usage"): SageMaker then
refuses CreateEndpoint with ResourceLimitExceeded. Finding the quota (Service Quotas, by name) and the
instances in use (ListEndpoints + DescribeEndpoint) turns that into the exact increase request to file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_engineering.aws import Aws, get_or_none, paginate
from llm_engineering.preflight.report import AWS_FAILURES, CheckResult, describe_failure
from llm_engineering.statuses import HOLDING_INSTANCES

SERVICE_CODE = "sagemaker"
CHECK = "Endpoint quota"


def quota_name(instance_type: str) -> str:
    """The Service Quotas name of the hosting quota for an instance type."""
    return f"{instance_type} for endpoint usage"


@dataclass(frozen=True)
class Quota:
    name: str
    code: str
    value: float
    applied: bool
    """False when only the AWS default was found (the account list lacked it)."""


@dataclass
class Usage:
    """Instances of one type held by the region's endpoints, by endpoint."""

    by_endpoint: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())


def find_quota(client: Any, instance_type: str) -> Quota | None:
    """The account's quota by name, else AWS's default for it; None when neither list has it."""
    name = quota_name(instance_type)
    for operation, applied in (("list_service_quotas", True), ("list_aws_default_service_quotas", False)):
        for item in paginate(client, operation, "Quotas", ServiceCode=SERVICE_CODE):
            if item.get("QuotaName") == name:
                return Quota(name=name, code=item["QuotaCode"], value=float(item.get("Value", 0)), applied=applied)
    return None


def _variant_count(variant: dict[str, Any]) -> int:
    for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
        if isinstance(variant.get(key), int):
            return variant[key]
    return 0


Known = Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]]
"""Endpoint name -> (DescribeEndpoint's answer, its config's) already read by the caller."""


def instances_in_use(client: Any, instance_type: str, known: Known | None = None) -> Usage:
    """Instances of `instance_type` each endpoint holds, counting both fleets of an update in progress.

    DescribeEndpoint gives the counts per variant, its endpoint config the variants' instance types (an
    endpoint outlives a deleted config: then only the counts' own InstanceType, if any, is known). Endpoints
    in `known` are not described again.
    """
    usage = Usage()
    for summary in paginate(client, "list_endpoints", "Endpoints"):
        if summary.get("EndpointStatus") not in HOLDING_INSTANCES:
            continue
        endpoint, config = _described(client, summary["EndpointName"], known or {})
        if endpoint is None:
            continue
        types = {v["VariantName"]: v.get("InstanceType") for v in (config or {}).get("ProductionVariants", [])}
        count = sum(
            _variant_count(variant)
            for variant in endpoint.get("ProductionVariants", [])
            if (types.get(variant["VariantName"]) or variant.get("InstanceType")) == instance_type
        )
        pending = endpoint.get("PendingDeploymentSummary", {}).get("ProductionVariants", [])
        count += sum(_variant_count(v) for v in pending if v.get("InstanceType") == instance_type)
        if count:
            usage.by_endpoint[summary["EndpointName"]] = count
    return usage


def _described(client: Any, name: str, known: Known) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    if name in known:
        return known[name]
    endpoint = get_or_none(client.describe_endpoint, EndpointName=name)
    config_name = (endpoint or {}).get("EndpointConfigName")
    config = get_or_none(client.describe_endpoint_config, EndpointConfigName=config_name) if config_name else None
    return endpoint, config


def increase_command(code: str, desired: int, region: str) -> str:
    return (
        f"aws service-quotas request-service-quota-increase --service-code {SERVICE_CODE} "
        f"--quota-code {code} --desired-value {desired} --region {region}"
    )


def console_path(region: str, code: str) -> str:
    return (
        f"Service Quotas console > AWS services > Amazon SageMaker > this quota > Request increase at account level "
        f"(https://{region}.console.aws.amazon.com/servicequotas/home/services/{SERVICE_CODE}/quotas/{code})"
    )


def _quota_unknown(aws: Aws, name: str, reason: str, error: Exception | None) -> CheckResult:
    if error is not None:
        return CheckResult(
            CHECK,
            "warning",
            f"could not read quota '{name}' ({describe_failure(error)}); {reason}",
            "allow servicequotas:ListServiceQuotas (make create-sagemaker-role grants it), or check the quota "
            "in the Service Quotas console before deploying",
        )
    return CheckResult(
        CHECK,
        "warning",
        f"Service Quotas has no quota named '{name}' in {aws.region}; {reason}",
        "check that SageMaker hosting offers this GPU_INSTANCE_TYPE in this AWS_REGION",
    )


def _usage_note(aws: Aws, instance_type: str, details: dict[str, Any], known: Known) -> tuple[Usage | None, str]:
    """The instances in use (None when they cannot be counted) and how the evidence says it."""
    try:
        usage = instances_in_use(aws.client("sagemaker"), instance_type, known)
    except AWS_FAILURES as error:
        return None, f"in use unknown ({describe_failure(error)})"
    in_use = ", ".join(f"{endpoint} {count}" for endpoint, count in sorted(usage.by_endpoint.items()))
    details["in_use"] = usage.by_endpoint
    return usage, f"in use {usage.total}" + (f" ({in_use})" if in_use else "")


def check_quota(
    aws: Aws, instance_type: str, new_instances: int, reason: str, known: Known | None = None
) -> CheckResult:
    """The quota row: blocked when in-use plus `new_instances` would exceed the quota.

    `reason` says why this deploy starts `new_instances` (e.g. "a blue/green update starts 1 new instance");
    `known` are endpoints the caller has read already.
    """
    name = quota_name(instance_type)
    try:
        quota = find_quota(aws.client("service-quotas"), instance_type)
    except AWS_FAILURES as error:
        return _quota_unknown(aws, name, reason, error)
    if quota is None:
        return _quota_unknown(aws, name, reason, None)
    details: dict[str, Any] = {
        "quota_name": quota.name,
        "quota_code": quota.code,
        "quota_value": quota.value,
        "applied": quota.applied,
        "new_instances": new_instances,
    }
    source = "" if quota.applied else " (AWS default; the account list lacks it)"
    usage, note = _usage_note(aws, instance_type, details, known or {})
    needed = (usage.total if usage else 0) + new_instances
    evidence = f"'{name}' ({quota.code}) is {quota.value:g}{source}; {note}; {reason}"
    if needed > quota.value:
        details["desired_value"] = needed
        fix = (
            f"{increase_command(quota.code, needed, aws.region)} (or {console_path(aws.region, quota.code)}); "
            "increases can take hours to days"
        )
        return CheckResult(
            CHECK,
            "blocked",
            f"{evidence}: needs {needed}, SageMaker would refuse with ResourceLimitExceeded",
            fix,
            details,
        )
    if usage is None:
        fix = "allow sagemaker:ListEndpoints and DescribeEndpoint to count the instances in use"
        return CheckResult(CHECK, "warning", evidence, fix, details)
    return CheckResult(CHECK, "ok", f"{evidence}: {needed} of {quota.value:g}", details=details)
