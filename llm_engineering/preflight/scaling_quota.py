"""The autoscaling range against the account's endpoint quota for the instance type.

The quota caps every instance of that type in the region: a maximum the quota cannot hold would leave the
scaler asking for instances SageMaker refuses (ResourceLimitExceeded in the scaling activity, not in the
deploy), so traffic peaks would find no capacity. Preflight warns; deploy refuses it as bad input.
"""

from __future__ import annotations

from llm_engineering.aws import Aws
from llm_engineering.catalogue.instances import GpuInstance
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.autoscaling import AutoscalingSpec, max_instances
from llm_engineering.preflight.quota import find_quota, increase_command, quota_name
from llm_engineering.preflight.report import AWS_FAILURES, CheckResult, describe_failure

CHECK = "Autoscaling quota"


class ScalingQuotaExceeded(ConfigurationError):
    """AUTOSCALING_MAX_CAPACITY needs more instances than the account's quota allows."""


def _needed(scaling: AutoscalingSpec, instance: GpuInstance, gpus_per_copy: int, components: bool) -> int:
    return max_instances(scaling, instance.gpus, gpus_per_copy, components)


def check_scaling_quota(
    aws: Aws, scaling: AutoscalingSpec, instance: GpuInstance, gpus_per_copy: int, components: bool
) -> CheckResult:
    """Ok when the quota holds the most instances the range can start, else a warning naming the quota."""
    needed = _needed(scaling, instance, gpus_per_copy, components)
    name = quota_name(instance.name)
    try:
        quota = find_quota(aws.client("service-quotas"), instance.name)
    except AWS_FAILURES as error:
        return CheckResult(CHECK, "warning", f"could not read quota '{name}' ({describe_failure(error)})")
    if quota is None:
        return CheckResult(CHECK, "warning", f"Service Quotas has no quota named '{name}' in {aws.region}")
    evidence = f"AUTOSCALING_MAX_CAPACITY={scaling.max_capacity} can need {needed} x {instance.name}"
    if needed > quota.value:
        return CheckResult(
            CHECK,
            "warning",
            f"{evidence}, but '{name}' ({quota.code}) is {quota.value:g}",
            f"lower AUTOSCALING_MAX_CAPACITY, or {increase_command(quota.code, needed, aws.region)}",
            {"quota_name": name, "quota_code": quota.code, "quota_value": quota.value, "needed": needed},
        )
    return CheckResult(CHECK, "ok", f"{evidence}; '{name}' is {quota.value:g}")


def refuse_above_quota(
    aws: Aws, scaling: AutoscalingSpec, instance: GpuInstance, gpus_per_copy: int, components: bool
) -> None:
    """Deploy's rule: a maximum above a quota that could be read is bad input (nothing is created)."""
    row = check_scaling_quota(aws, scaling, instance, gpus_per_copy, components)
    if "needed" in row.details:
        raise ScalingQuotaExceeded(
            f"AUTOSCALING_MAX_CAPACITY={scaling.max_capacity} needs up to {row.details['needed']} x {instance.name}, "
            f"above the quota '{row.details['quota_name']}' of {row.details['quota_value']:g}: lower "
            "AUTOSCALING_MAX_CAPACITY or request a quota increase (make preflight shows the command)."
        )
