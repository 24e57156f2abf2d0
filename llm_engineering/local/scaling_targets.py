"""What a registered scalable target means for SageMaker's own answers: the instance count a variant shows,
and the instance-type change UpdateEndpoint refuses under autoscaling.

The emulated endpoints (`sagemaker.py`) read Application Auto Scaling's targets here; the ticker that moves
copies and runs alarms (`autoscaling.py`) builds on the same reading. Keeping it apart lets the endpoints
consult the scaling without the scaling module, which itself looks up the endpoints' components.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends

from llm_engineering.local.base import HostingBackend
from llm_engineering.local.instances import spec as instance_spec
from llm_engineering.local.protocol import AwsError

COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def clamp(target: Any, count: int) -> int:
    """`count` within the target's MinCapacity..MaxCapacity (no maximum: `count` is the ceiling)."""
    return max(target.min_capacity or 0, min(target.max_capacity or count, count))


# --- an update under a registered target ---------------------------------------------------------------------


def refuse_instance_type_change(account: str, region: str, endpoint: str, old: list[Any], new: list[Any]) -> None:
    """UpdateEndpoint fails when it would change the instance type of a variant that is a scalable target
    ("If the update would change the instance type for any model that is a target for auto scaling, the update
    fails", SageMaker Developer Guide, "Update endpoints that use auto scaling"). The message is the
    emulator's: AWS's wording could not be verified."""
    targets = applicationautoscaling_backends[account][region].targets.get(VARIANT_DIMENSION, {})
    types = {variant["VariantName"]: variant.get("InstanceType") for variant in old}
    for variant in new:
        name = variant["VariantName"]
        if f"endpoint/{endpoint}/variant/{name}" in targets and types.get(name, variant.get("InstanceType")) != (
            variant.get("InstanceType")
        ):
            raise AwsError(
                "ValidationException",
                f"The variant {name} of endpoint {endpoint} is a target for auto scaling, and this update changes "
                f"its instance type from {types[name]} to {variant.get('InstanceType')}: deregister the scalable "
                "target first (DeregisterScalableTarget), then register it again after the update.",
            )


# --- instances that follow -----------------------------------------------------------------------------------


def variant_instances(backend: HostingBackend, endpoint: str, variant: dict[str, Any]) -> tuple[int, int]:
    """(current, desired) instances of a variant: with ManagedInstanceScaling, as many as its components' copies
    need (within its range: none for none); with a registered variant target, the initial count in its range."""
    initial = int(variant.get("InitialInstanceCount") or 1)
    managed = variant.get("ManagedInstanceScaling") or {}
    if managed.get("Status") == "ENABLED":
        gpus = max(1, (instance_spec(variant.get("InstanceType", "")) or _ONE_GPU).accelerators)
        counts = []
        for copies in ("current_copy_count", "copy_count"):
            needed = sum(
                getattr(component, copies)
                * float(
                    (component.specification.get("ComputeResourceRequirements") or {}).get(
                        "NumberOfAcceleratorDevicesRequired"
                    )
                    or gpus
                )
                for component in backend.components.values()
                if component.endpoint_name == endpoint and component.status not in {"Failed", "Deleting"}
            )
            low, high = int(managed.get("MinInstanceCount", 0)), int(managed.get("MaxInstanceCount", initial))
            counts.append(max(low, min(high, math.ceil(needed / gpus))))
        return counts[0], counts[1]
    scaling = applicationautoscaling_backends[backend.account_id][backend.region_name]
    target = scaling.targets.get(VARIANT_DIMENSION, {}).get(f"endpoint/{endpoint}/variant/{variant['VariantName']}")
    count = clamp(target, initial) if target is not None else initial
    return count, count


@dataclass(frozen=True)
class _OneGpu:
    accelerators: int = 1


_ONE_GPU = _OneGpu()
