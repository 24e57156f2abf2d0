"""What exists of a deployment's autoscaling, and removing it: the scalable target, its policies, the alarms.

Deploy reads it to update in place (or remove what the settings no longer ask for); delete removes it
before the component or endpoint; status shows it. Alarms are found by their name's prefix and kept only
when this tool's tags name the endpoint: names are never trusted alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_engineering import tags as tool_tags
from llm_engineering.aws import Aws, delete_if_exists, paginate
from llm_engineering.hosting.autoscaling import NAMESPACE, ExistingScaling, ScaledResource
from llm_engineering.resources.endpoints import Resource


@dataclass(frozen=True)
class ScalingState:
    """The scalable target as Application Auto Scaling describes it, for `make status`."""

    min_capacity: int
    max_capacity: int
    metric: str | None
    target_value: float | None


def _target(aws: Aws, target: ScaledResource) -> dict[str, Any] | None:
    scaling = aws.client("application-autoscaling")
    found = scaling.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[target.resource_id], ScalableDimension=target.dimension
    ).get("ScalableTargets", [])
    return found[0] if found else None


def _policies(aws: Aws, target: ScaledResource) -> list[dict[str, Any]]:
    scaling = aws.client("application-autoscaling")
    return list(paginate(scaling, "describe_scaling_policies", "ScalingPolicies", **target.key))


def _tool_alarms(aws: Aws, target: ScaledResource) -> list[dict[str, Any]]:
    """This tool's alarms of the target, as DescribeAlarms gives them: named after it, tagged with this tool's
    tags naming its endpoint."""
    cloudwatch = aws.client("cloudwatch")
    found: list[dict[str, Any]] = []
    for alarm in paginate(cloudwatch, "describe_alarms", "MetricAlarms", AlarmNamePrefix=target.label):
        if alarm["AlarmName"] not in (target.wake_alarm, target.sleep_alarm):
            continue
        values = tool_tags.read_if_exists(cloudwatch, ResourceARN=alarm["AlarmArn"])
        if tool_tags.is_managed(values) and values.get(tool_tags.ENDPOINT) == target.endpoint_name:
            found.append(alarm)
    return found


def tool_alarms(aws: Aws, target: ScaledResource) -> tuple[str, ...]:
    """The names of this tool's alarms of the target."""
    return tuple(alarm["AlarmName"] for alarm in _tool_alarms(aws, target))


def existing_scaling(aws: Aws, target: ScaledResource) -> ExistingScaling:
    """The target (with its range), its policies and this tool's alarms, as they are now."""
    found = _target(aws, target)
    policies = _policies(aws, target) if found is not None else []
    alarms = _tool_alarms(aws, target)
    return ExistingScaling(
        target=found is not None,
        policies=tuple(policy["PolicyName"] for policy in policies),
        alarms=tuple(alarm["AlarmName"] for alarm in alarms),
        capacity=(found["MinCapacity"], found["MaxCapacity"]) if found is not None else None,
        policy_details={policy["PolicyName"]: policy for policy in policies},
        alarm_details={alarm["AlarmName"]: alarm for alarm in alarms},
    )


def scaling_state(aws: Aws, target: ScaledResource) -> ScalingState | None:
    """The registered range and the tracked metric and value (None: the target is not registered)."""
    found = _target(aws, target)
    if found is None:
        return None
    tracking = next(
        (policy for policy in _policies(aws, target) if policy.get("PolicyType") == "TargetTrackingScaling"), None
    )
    configuration = (tracking or {}).get("TargetTrackingScalingPolicyConfiguration", {})
    metric = configuration.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    return ScalingState(found["MinCapacity"], found["MaxCapacity"], metric, configuration.get("TargetValue"))


def remove_scaling(aws: Aws, target: ScaledResource, *, registered: bool | None = None) -> list[str]:
    """Delete the policies, deregister the target and delete this tool's alarms; idempotent. Returns what went.

    The policies are deleted one by one before the deregistration (AWS deletes them with the target too):
    that way nothing is left even where a deregistration keeps them. `registered`: already looked up.
    """
    scaling = aws.client("application-autoscaling")
    gone: list[str] = []
    if registered is None:
        registered = _target(aws, target) is not None
    if registered:
        for policy in _policies(aws, target):
            if delete_if_exists(scaling.delete_scaling_policy, PolicyName=policy["PolicyName"], **target.key):
                gone.append(f"scaling policy {policy['PolicyName']}")
        if delete_if_exists(scaling.deregister_scalable_target, **target.key):
            gone.append(f"autoscaling target {target.resource_id}")
    alarms = tool_alarms(aws, target)
    if alarms:
        aws.client("cloudwatch").delete_alarms(AlarmNames=list(alarms))
        gone += [f"alarm {name}" for name in alarms]
    return gone


def remove_created_scaling(aws: Aws, resource: Resource) -> None:
    """Roll back a scalable target (with its policies) or an alarm a deploy created; gone already is fine."""
    if resource.kind == "alarm":
        aws.client("cloudwatch").delete_alarms(AlarmNames=[resource.name])
        return
    component = resource.name.removeprefix("inference-component/") if resource.name.startswith("inference-") else None
    endpoint = resource.name.split("/")[1] if component is None else ""
    target = ScaledResource(endpoint, component)
    scaling = aws.client("application-autoscaling")
    for policy in _policies(aws, target):
        delete_if_exists(scaling.delete_scaling_policy, PolicyName=policy["PolicyName"], **target.key)
    delete_if_exists(scaling.deregister_scalable_target, **target.key)
