"""Autoscaling of a deployment: the scalable target, its policies, and the alarm that brings a component back.

SageMaker scales through Application Auto Scaling (service namespace `sagemaker`): a model-based endpoint's
variant by its instance count, an inference component by its copy count. A target-tracking policy follows
the traffic between AUTOSCALING_MIN_CAPACITY and AUTOSCALING_MAX_CAPACITY.

Scale to zero follows AWS's recipe (SageMaker Developer Guide, "Scale an endpoint to zero instances", and
AWS's sample notebook for it): the scalable target's MinCapacity is 0 and the target-tracking policy itself
scales an idle component in to zero copies, after about 10-15 minutes without requests (its scale-in alarm
wants 15 one-minute periods below the target, then the ScaleInCooldown). Target tracking cannot leave zero
(no copy, no metric per copy), so such a component also gets a step policy (+1 copy) fired by a CloudWatch
alarm on `NoCapacityInvocationFailures`. No step policy scales in: AWS advises against mixing step scale-in
with target tracking, and an `ExactCapacity 0` step on an `Invocations <= 0` alarm never matches (with the
metric not above the threshold a step's lower bound is exclusive, StepAdjustment, Application Auto Scaling
API Reference) and reads a metric SageMaker does not publish for idle minutes. A deployment made when this
tool still put that idle policy and alarm has them deleted on its next deploy.

A redeploy with the same settings sends nothing: what exists (`ExistingScaling`, read by
`hosting.autoscaling_inventory`) is compared with what would be sent. The requests are built here, purely,
for `plan.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.steps import Call
from llm_engineering.resources.endpoints import Resource
from llm_engineering.settings import Settings
from llm_engineering.tags import Tag

NAMESPACE = "sagemaker"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
METRICS: dict[tuple[str, bool], str] = {
    ("invocations", False): "SageMakerVariantInvocationsPerInstance",
    ("invocations", True): "SageMakerInferenceComponentInvocationsPerCopy",
    ("concurrency", False): "SageMakerVariantConcurrentRequestsPerModelHighResolution",
    ("concurrency", True): "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
}
"""(AUTOSCALING_METRIC, inference component) -> Application Auto Scaling's predefined metric."""
DEFAULT_TARGETS = {"invocations": 20.0, "concurrency": 4.0}
"""An LLM answer takes seconds: 20 invocations a minute or 4 requests in flight keep one copy busy, not queued."""
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"
ALARM_PERIOD = 60
TO_ZERO_MINUTES = 15
"""The minutes below the target before target tracking scales in (AWS's scale-in alarm: 15 one-minute periods),
so about how long an idle component takes to reach zero copies, before the ScaleInCooldown."""


@dataclass(frozen=True)
class AutoscalingSpec:
    """The scaling range and what it follows, validated once (`Settings` checks min <= max, zero's type)."""

    min_capacity: int
    max_capacity: int
    metric: Literal["invocations", "concurrency"] = "invocations"
    target: float = DEFAULT_TARGETS["invocations"]
    scale_in_cooldown: int = 300
    scale_out_cooldown: int = 60

    @property
    def to_zero(self) -> bool:
        return self.min_capacity == 0

    @classmethod
    def from_settings(cls, settings: Settings) -> AutoscalingSpec | None:
        """None when autoscaling is not asked for (no AUTOSCALING_MIN_CAPACITY / AUTOSCALING_MAX_CAPACITY)."""
        if settings.autoscaling_min_capacity is None or settings.autoscaling_max_capacity is None:
            return None
        metric = settings.autoscaling_metric
        components = settings.endpoint_type == "inference-component"
        name, initial = (
            ("COPY_COUNT", settings.copy_count) if components else ("GPU_INSTANCE_COUNT", settings.gpu_instance_count)
        )
        low, high = settings.autoscaling_min_capacity, settings.autoscaling_max_capacity
        if not max(low, 1) <= initial <= high:
            raise ConfigurationError(
                f"{name}={initial} is the size autoscaling starts from, but it is outside AUTOSCALING_MIN_CAPACITY="
                f"{low} .. AUTOSCALING_MAX_CAPACITY={high}: set {name} within the range (at least 1)."
            )
        return cls(
            min_capacity=settings.autoscaling_min_capacity,
            max_capacity=settings.autoscaling_max_capacity,
            metric=metric,
            target=settings.autoscaling_target or DEFAULT_TARGETS[metric],
            scale_in_cooldown=settings.scale_in_cooldown,
            scale_out_cooldown=settings.scale_out_cooldown,
        )


@dataclass(frozen=True)
class ScaledResource:
    """What one deployment scales: the variant of a model-based endpoint, or an inference component."""

    endpoint_name: str
    component_name: str | None = None

    @property
    def resource_id(self) -> str:
        if self.component_name:
            return f"inference-component/{self.component_name}"
        return f"endpoint/{self.endpoint_name}/variant/AllTraffic"

    @property
    def dimension(self) -> str:
        return COMPONENT_DIMENSION if self.component_name else VARIANT_DIMENSION

    @property
    def key(self) -> dict[str, str]:
        """The three members every Application Auto Scaling request about this target repeats."""
        return {"ServiceNamespace": NAMESPACE, "ResourceId": self.resource_id, "ScalableDimension": self.dimension}

    @property
    def label(self) -> str:
        """The prefix of its policy and alarm names (the alarms are found again by it and by their tags)."""
        return self.component_name or self.endpoint_name

    @property
    def tracking_policy(self) -> str:
        return f"{self.label}-target-tracking"

    @property
    def wake_policy(self) -> str:
        return f"{self.label}-scale-out-from-zero"

    @property
    def sleep_policy(self) -> str:
        """The idle step policy earlier versions put (never acted on AWS): deleted where found."""
        return f"{self.label}-scale-in-to-zero"

    @property
    def wake_alarm(self) -> str:
        return f"{self.label}-no-capacity"

    @property
    def sleep_alarm(self) -> str:
        """The idle alarm earlier versions put with `sleep_policy`: deleted where found."""
        return f"{self.label}-idle"


@dataclass(frozen=True)
class ExistingScaling:
    """What a deploy found registered for its target: whether the target exists (and its range), its policies
    and this tool's alarms, each with what AWS describes of it (compared with what a deploy would send)."""

    target: bool = False
    policies: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()
    capacity: tuple[int, int] | None = None
    """The target's (MinCapacity, MaxCapacity) as described."""
    policy_details: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Policy name -> DescribeScalingPolicies' entry (PolicyType, its configuration, PolicyARN)."""
    alarm_details: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Alarm name -> DescribeAlarms' entry."""


class PolicyArn(str):
    """Stands in a request for the ARN PutScalingPolicy returns for `policy` (unknown when planning).

    It is a string (`<ARN of policy NAME>`), so the plan prints as is; `apply.py` puts the real ARN in.
    """

    policy: str

    def __new__(cls, policy: str) -> PolicyArn:
        value = super().__new__(cls, f"<ARN of policy {policy}>")
        value.policy = policy
        return value


def managed_instance_scaling(spec: AutoscalingSpec, instance_gpus: int, gpus_per_copy: int, initial: int) -> dict:
    """The variant's ManagedInstanceScaling: as many instances as the copies of the range need, so instances
    follow the copies (down to none when the component may scale to zero)."""
    copies_per_instance = max(1, instance_gpus // gpus_per_copy)
    return {
        "Status": "ENABLED",
        "MinInstanceCount": math.ceil(spec.min_capacity / copies_per_instance),
        "MaxInstanceCount": max(initial, math.ceil(spec.max_capacity / copies_per_instance)),
    }


def max_instances(spec: AutoscalingSpec, instance_gpus: int, gpus_per_copy: int, components: bool) -> int:
    """The most instances the range can hold at once (what the account's endpoint quota must allow)."""
    if not components:
        return spec.max_capacity
    return math.ceil(spec.max_capacity / max(1, instance_gpus // gpus_per_copy))


def _register(target: ScaledResource, spec: AutoscalingSpec, tags: list[Tag], existing: ExistingScaling) -> Call:
    params = {**target.key, "MinCapacity": spec.min_capacity, "MaxCapacity": spec.max_capacity}
    if not existing.target:  # tagged once, when new: a re-registration (update in place) changes the range only
        params["Tags"] = {tag["Key"]: tag["Value"] for tag in tags}
    created = None if existing.target else Resource("scalable-target", target.resource_id)
    return Call("RegisterScalableTarget", params, created, service="application-autoscaling")


def _tracking(target: ScaledResource, spec: AutoscalingSpec) -> Call:
    configuration = {
        "TargetValue": spec.target,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": METRICS[spec.metric, target.component_name is not None]
        },
        "ScaleInCooldown": spec.scale_in_cooldown,
        "ScaleOutCooldown": spec.scale_out_cooldown,
    }
    params = {
        "PolicyName": target.tracking_policy,
        **target.key,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": configuration,
    }
    return Call("PutScalingPolicy", params, service="application-autoscaling")


def _step(target: ScaledResource, name: str, adjustment_type: str, adjustment: int, cooldown: int) -> Call:
    configuration = {
        "AdjustmentType": adjustment_type,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": adjustment}],
        "Cooldown": cooldown,
        "MetricAggregationType": "Maximum",
    }
    params = {
        "PolicyName": name,
        **target.key,
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": configuration,
    }
    return Call("PutScalingPolicy", params, service="application-autoscaling")


def _alarm(
    target: ScaledResource,
    name: str,
    policy: str,
    metric: str,
    periods: int,
    tags: list[Tag],
    existing: ExistingScaling,
    **kind: Any,
) -> Call:
    params = {
        "AlarmName": name,
        "AlarmDescription": f"Fires {policy} of inference component {target.component_name} (llm-engineering).",
        "AlarmActions": [PolicyArn(policy)],
        "Namespace": "AWS/SageMaker",
        "MetricName": metric,
        "Dimensions": [{"Name": "InferenceComponentName", "Value": target.component_name}],
        "Statistic": "Sum",
        "Period": ALARM_PERIOD,
        "EvaluationPeriods": periods,
        "DatapointsToAlarm": periods,
        **kind,
        "Tags": tags,
    }
    created = None if name in existing.alarms else Resource("alarm", name)  # PutMetricAlarm also updates in place
    return Call("PutMetricAlarm", params, created, service="cloudwatch")


def scaling_steps(
    target: ScaledResource, spec: AutoscalingSpec | None, tags: list[Tag], existing: ExistingScaling
) -> list[Call]:
    """The requests that make the target's scaling what `spec` says, from what exists (`existing`): register
    and put what differs (both update in place; what already is as asked is not sent again), delete what the
    spec no longer has, deregister when it is unset."""
    if spec is None:
        if not existing.target:
            return []
        steps = [Call("DeregisterScalableTarget", target.key, service="application-autoscaling")]
        return steps + _delete_alarms(existing.alarms)
    register = _register(target, spec, tags, existing)
    steps = [] if _registered_as(register, existing) else [register]
    steps += _unless_same([_tracking(target, spec)], existing)
    kept: tuple[str, ...] = ()
    if spec.to_zero and target.component_name:
        wake = _step(target, target.wake_policy, "ChangeInCapacity", 1, spec.scale_out_cooldown)
        alarm = _alarm(
            target,
            target.wake_alarm,
            target.wake_policy,
            NO_CAPACITY_METRIC,
            1,
            tags,
            existing,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
        steps += _unless_same([wake, alarm], existing)
        kept = (target.wake_policy,)
    stale = [name for name in (target.wake_policy, target.sleep_policy) if name in existing.policies]
    steps += [
        Call("DeleteScalingPolicy", {"PolicyName": name, **target.key}, service="application-autoscaling")
        for name in stale
        if name not in kept
    ]
    wanted_alarms = (target.wake_alarm,) if kept else ()
    return steps + _delete_alarms(tuple(name for name in existing.alarms if name not in wanted_alarms))


def _registered_as(register: Call, existing: ExistingScaling) -> bool:
    """The target exists with the range the registration asks for."""
    params = register.params
    return existing.target and existing.capacity == (params["MinCapacity"], params["MaxCapacity"])


def _unless_same(calls: list[Call], existing: ExistingScaling) -> list[Call]:
    """The calls, or none when every one of them would leave what exists as it is. A policy and the alarm that
    names it go together: the alarm's request needs the ARN the policy's PutScalingPolicy answers."""
    return [] if all(_same(call, existing) for call in calls) else calls


def _same(call: Call, existing: ExistingScaling) -> bool:
    params = call.params
    if call.operation == "PutScalingPolicy":
        found = existing.policy_details.get(params["PolicyName"])
        if found is None or found.get("PolicyType") != params["PolicyType"]:
            return False
        member = next(key for key in params if key.endswith("PolicyConfiguration"))
        return _covers(found.get(member) or {}, params[member])
    found = existing.alarm_details.get(params["AlarmName"])
    if found is None:
        return False
    actions = [
        (existing.policy_details.get(action.policy) or {}).get("PolicyARN") if isinstance(action, PolicyArn) else action
        for action in params["AlarmActions"]
    ]
    compared = {key: value for key, value in params.items() if key not in ("AlarmActions", "Tags")}
    return found.get("AlarmActions") == actions and _covers(found, compared)


def _covers(found: Any, sent: Any) -> bool:
    """What AWS describes holds every member that would be sent, with the same value (it may add defaults)."""
    if isinstance(sent, dict):
        return isinstance(found, dict) and all(_covers(found.get(key), value) for key, value in sent.items())
    if isinstance(sent, list):
        return isinstance(found, list) and len(found) == len(sent) and all(map(_covers, found, sent))
    return found == sent


def _delete_alarms(names: tuple[str, ...]) -> list[Call]:
    return [Call("DeleteAlarms", {"AlarmNames": list(names)}, service="cloudwatch")] if names else []


def describe(spec: AutoscalingSpec | None, components: bool) -> str:
    """The plan's autoscaling line."""
    if spec is None:
        return "off (fixed size; set AUTOSCALING_MIN_CAPACITY and AUTOSCALING_MAX_CAPACITY to scale)"
    unit = "copies" if components else "instances"
    line = (
        f"{spec.min_capacity}-{spec.max_capacity} {unit}, {METRICS[spec.metric, components]} target {spec.target:g}, "
        f"cooldowns in {spec.scale_in_cooldown} s / out {spec.scale_out_cooldown} s"
    )
    if spec.to_zero:
        line += (
            f"; target tracking scales it to zero after about {TO_ZERO_MINUTES} min without requests, plus the "
            f"scale-in cooldown (no instance billed then), back on the first request (which fails while a copy "
            f"starts)"
        )
    return line
