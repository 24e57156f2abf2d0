"""Autoscaling of a deployment: the scalable target, its policies, and the alarm that brings a component back.

SageMaker scales through Application Auto Scaling (service namespace `sagemaker`): a model-based endpoint's
variant by its instance count, an inference component by its copy count. A target-tracking policy follows
the traffic between AUTOSCALING_MIN_CAPACITY and AUTOSCALING_MAX_CAPACITY. Target tracking cannot leave zero
(no copy, no metric per copy), so a component that may scale to zero also gets a step policy (+1 copy) fired
by a CloudWatch alarm on `NoCapacityInvocationFailures`, and a second step policy (to 0 copies) fired by an
alarm on idle minutes (SCALE_TO_ZERO_AFTER). The requests are built here, purely, for `plan.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
IDLE_METRIC = "Invocations"
ALARM_PERIOD = 60


@dataclass(frozen=True)
class AutoscalingSpec:
    """The scaling range and what it follows, validated once (`Settings` checks min <= max, zero's type)."""

    min_capacity: int
    max_capacity: int
    metric: Literal["invocations", "concurrency"] = "invocations"
    target: float = DEFAULT_TARGETS["invocations"]
    scale_in_cooldown: int = 300
    scale_out_cooldown: int = 60
    scale_to_zero_after: int = 15
    """Minutes without invocations before the component goes to zero copies (scale to zero only)."""

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
            scale_to_zero_after=settings.scale_to_zero_after,
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
        return f"{self.label}-scale-in-to-zero"

    @property
    def wake_alarm(self) -> str:
        return f"{self.label}-no-capacity"

    @property
    def sleep_alarm(self) -> str:
        return f"{self.label}-idle"


@dataclass(frozen=True)
class ExistingScaling:
    """What a deploy found registered for its target: whether the target exists, and this tool's alarms."""

    target: bool = False
    policies: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()


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
    and put (both update in place), delete what the spec no longer has, deregister when it is unset."""
    if spec is None:
        if not existing.target:
            return []
        steps = [Call("DeregisterScalableTarget", target.key, service="application-autoscaling")]
        return steps + _delete_alarms(existing.alarms)
    steps = [_register(target, spec, tags, existing), _tracking(target, spec)]
    if spec.to_zero and target.component_name:
        cooldown = spec.scale_out_cooldown
        steps += [
            _step(target, target.wake_policy, "ChangeInCapacity", 1, cooldown),
            _alarm(
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
            ),
            _step(target, target.sleep_policy, "ExactCapacity", 0, spec.scale_in_cooldown),
            _alarm(
                target,
                target.sleep_alarm,
                target.sleep_policy,
                IDLE_METRIC,
                spec.scale_to_zero_after,
                tags,
                existing,
                Threshold=0.0,
                ComparisonOperator="LessThanOrEqualToThreshold",
                TreatMissingData="breaching",  # no invocation publishes no data point: idle
            ),
        ]
        return steps
    stale = [name for name in (target.wake_policy, target.sleep_policy) if name in existing.policies]
    steps += [
        Call("DeleteScalingPolicy", {"PolicyName": name, **target.key}, service="application-autoscaling")
        for name in stale
    ]
    return steps + _delete_alarms(existing.alarms)


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
            f"; scales to zero after {spec.scale_to_zero_after} min idle (no instance billed then), "
            f"back on the first request (which fails while a copy starts)"
        )
    return line
