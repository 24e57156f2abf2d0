"""Service Quotas for SageMaker hosting (moto knows only VPC quotas).

One quota per hosting instance type in botocore's `ProductionVariantInstanceType` enum, named as AWS
names it (`ml.g5.2xlarge for endpoint usage`), with a stable code, and the value the fault configuration
gives. Preflight checks read it; CreateEndpoint enforces the same number.
"""

from __future__ import annotations

import hashlib
from typing import Any

from llm_engineering.local.faults import CURRENT
from llm_engineering.local.protocol import AwsError, service_model

SERVICE_CODE = "sagemaker"
SERVICE_NAME = "Amazon SageMaker"
OPERATIONS = {"GetServiceQuota", "ListServiceQuotas", "GetAWSDefaultServiceQuota", "ListAWSDefaultServiceQuotas"}


def quota_code(instance_type: str) -> str:
    """A stable quota code for `instance_type`: `L-` and 8 upper-case hex digits."""
    return "L-" + hashlib.sha256(f"{instance_type} for endpoint usage".encode()).hexdigest()[:8].upper()


def hosting_instance_types() -> list[str]:
    return list(service_model("sagemaker").shape_for("ProductionVariantInstanceType").enum)


def _quota(instance_type: str, account_id: str, region: str, *, default: bool) -> dict[str, Any]:
    code = quota_code(instance_type)
    config = CURRENT.config
    value = config.default_quota if default else config.quota_for(instance_type)
    return {
        "ServiceCode": SERVICE_CODE,
        "ServiceName": SERVICE_NAME,
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account_id if not default else ''}:{SERVICE_CODE}/{code}",
        "QuotaCode": code,
        "QuotaName": f"{instance_type} for endpoint usage",
        "Value": float(value),
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
        "QuotaAppliedAtLevel": "ACCOUNT",
        "Description": f"Maximum number of {instance_type} instances that endpoints in this account can use.",
    }


def handle(operation: str, params: dict[str, Any], account_id: str, region: str) -> dict[str, Any] | None:
    """The answer for SageMaker's quotas, or None to leave the request to moto (other services)."""
    if operation not in OPERATIONS or params.get("ServiceCode") != SERVICE_CODE:
        return None
    default = "AWSDefault" in operation
    types = hosting_instance_types()
    if operation.startswith("Get"):
        for instance_type in types:
            if quota_code(instance_type) == params.get("QuotaCode"):
                return {"Quota": _quota(instance_type, account_id, region, default=default)}
        raise AwsError("NoSuchResourceException", "The request failed because the specified quota does not exist.")
    quotas = [_quota(instance_type, account_id, region, default=default) for instance_type in types]
    if params.get("QuotaCode"):
        quotas = [quota for quota in quotas if quota["QuotaCode"] == params["QuotaCode"]]
    start = int(params["NextToken"]) if str(params.get("NextToken", "")).isdigit() else 0
    end = start + int(params.get("MaxResults") or 100)
    return {"Quotas": quotas[start:end], "NextToken": str(end) if end < len(quotas) else None}
