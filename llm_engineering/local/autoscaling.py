"""Application Auto Scaling for SageMaker inference components: moto's gaps closed, and scaling connected.

moto 5.2.5 refuses the `sagemaker:inference-component:DesiredCopyCount` dimension in RegisterScalableTarget,
and its DeregisterScalableTarget leaves the target's scaling policies behind, where AWS deletes them
("Deregistering a scalable target deletes the scaling policies and the scheduled actions that are associated
with it", Application Auto Scaling API Reference, DeregisterScalableTarget). `install()` closes both.

The ticker (`clock.register`) connects the targets to the emulated components: the copy count follows the
target's range, a CloudWatch alarm that breaches fires its step policy when one of the policy's step
adjustments holds the metric (`matching_step`: the StepAdjustment page's bound rules), so a refused invocation
brings a copy back after the start-up time, the emulator's `transition_seconds`; an idle component goes to
zero copies by its target tracking (`local/tracking.py`). `refuse_without_capacity` answers an invocation of a
zero-copy component with SageMaker's error and counts it in `NoCapacityInvocationFailures` (moto's
CloudWatch). Only that metric is published here. A component's target-tracking policy is evaluated by
`local/tracking.py` on the invocation metrics `local/metrics.py` publishes. A model-based variant's instances
stay where the registration put them (its target tracking is not evaluated); what a target means for the
endpoints' own answers (instance counts, the refused instance-type change) is `local/scaling_targets.py`,
which the endpoints read without this module.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from enum import Enum
from typing import Any

from moto.applicationautoscaling import models as scaling_models
from moto.applicationautoscaling import responses as scaling_responses
from moto.applicationautoscaling.models import ApplicationAutoscalingBackend, applicationautoscaling_backends
from moto.cloudwatch.models import CloudWatchBackend, cloudwatch_backends
from moto.core.exceptions import JsonRESTError

from llm_engineering.local import clock, metrics, sagemaker, tracking
from llm_engineering.local.base import InferenceComponent
from llm_engineering.local.faults import CURRENT
from llm_engineering.local.protocol import AwsError
from llm_engineering.local.records import Pending
from llm_engineering.local.scaling_targets import COMPONENT_DIMENSION, clamp

NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"
NO_CAPACITY_MESSAGE = (
    "Inference Component {name} has no capacity to process this request. ApplicationAutoScaling may be in the "
    "process of scaling up the capacity. Please try again later."
)
"""The runtime's answer to an invocation of a component with no copy. The documentation says only that such
requests fail until a copy is back ("any attempts to invoke the endpoint will produce an error", SageMaker
Developer Guide, "Scale an endpoint to zero instances"); this wording and its code (ValidationError, 400)
could not be verified against AWS."""

_fired: dict[tuple[str, str], float] = {}
"""(account, alarm) -> emulated time its policy last ran: a policy's cooldown holds it back after that."""
_first_seen: dict[tuple[str, str], float] = {}
"""(account, alarm) -> emulated time the alarm was put: a new alarm judges only whole windows."""
_tags: dict[str, dict[str, str]] = {}
"""Scalable target ARN -> its tags (moto 5.2 keeps none: RegisterScalableTarget's Tags, TagResource,
UntagResource and ListTagsForResource are answered here)."""


class ObjectNotFound(JsonRESTError):
    """Application Auto Scaling's answer for a target or policy that does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__("ObjectNotFoundException", message)


def install() -> None:
    """Accept the inference-component dimension, and make deregistration delete the target's policies."""
    if getattr(ApplicationAutoscalingBackend, "_llm_engineering", False):
        return
    members = {member.name: member.value for member in scaling_models.ScalableDimensionValueSet}
    members["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = COMPONENT_DIMENSION
    dimensions = Enum("ScalableDimensionValueSet", members)  # type: ignore[misc]
    scaling_models.ScalableDimensionValueSet = dimensions  # type: ignore[misc]
    scaling_responses.ScalableDimensionValueSet = dimensions  # type: ignore[misc]
    ApplicationAutoscalingBackend.deregister_scalable_target = _deregister  # type: ignore[method-assign]
    ApplicationAutoscalingBackend._llm_engineering = True  # type: ignore[attr-defined]
    put_alarm = CloudWatchBackend.put_metric_alarm

    def put_metric_alarm(self: CloudWatchBackend, *args: Any, **kwargs: Any) -> Any:
        alarm = put_alarm(self, *args, **kwargs)
        _first_seen[self.account_id, alarm.name] = clock.time()  # judged from its put, in emulated time
        return alarm

    CloudWatchBackend.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]
    put_policy = ApplicationAutoscalingBackend.put_scaling_policy

    def put_scaling_policy(self: ApplicationAutoscalingBackend, *args: Any, **kwargs: Any) -> Any:
        policy = put_policy(self, *args, **kwargs)
        tracking.policy_put(self.account_id, policy.policy_arn)  # its scale-in judges whole windows from here
        return policy

    ApplicationAutoscalingBackend.put_scaling_policy = put_scaling_policy  # type: ignore[method-assign]
    _install_tags()


def _install_tags() -> None:
    """Tags of scalable targets, as Application Auto Scaling keeps them (what cleanup and delete find them by)."""
    responses = scaling_responses.ApplicationAutoScalingResponse
    register = responses.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        answer = register(self)
        arn = json.loads(answer)["ScalableTargetARN"]
        _tags[arn] = {**_tags.get(arn, {}), **(self._get_param("Tags") or {})}
        return answer

    def _known(self: Any) -> str:
        arn = self._get_param("ResourceARN")
        backend = self.applicationautoscaling_backend
        if not any(target.arn == arn for targets in backend.targets.values() for target in targets.values()):
            # The code is the API reference's; the wording is not verified against AWS.
            raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for ARN {arn}.")
        return arn

    def tag_resource(self: Any) -> str:
        arn = _known(self)
        _tags[arn] = {**_tags.get(arn, {}), **(self._get_param("Tags") or {})}
        return "{}"

    def untag_resource(self: Any) -> str:
        arn = _known(self)
        for key in self._get_param("TagKeys") or []:
            _tags.get(arn, {}).pop(key, None)
        return "{}"

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": _tags.get(_known(self), {})})

    responses.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
    responses.tag_resource = tag_resource  # type: ignore[attr-defined]
    responses.untag_resource = untag_resource  # type: ignore[attr-defined]
    responses.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    clock.register(tick)


def _deregister(self: ApplicationAutoscalingBackend, namespace: str, r_id: str, dimension: str) -> None:
    if not self._scalable_target_exists(r_id, dimension):
        raise ObjectNotFound(
            f"No scalable target registered for service namespace: {namespace}, resource ID: {r_id}, "
            f"scalable dimension: {dimension}"
        )
    for key, policy in list(self.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (namespace, r_id, dimension):
            policy.delete_alarms(self.account_id, self.region_name)
            del self.policies[key]
    _tags.pop(self.targets[dimension][r_id].arn, None)
    del self.targets[dimension][r_id]


# --- the runtime's side --------------------------------------------------------------------------------------


def refuse_without_capacity(account: str, region: str, component: InferenceComponent) -> None:
    """A component with no copy refuses the invocation, and CloudWatch counts it (what wakes it up)."""
    if component.current_copy_count > 0:
        return  # it reaches the model, which publishes Invocations (local/metrics.py): what the idle alarm reads
    dimensions = (("InferenceComponentName", component.name),)
    metrics.publish(account, region, "AWS/SageMaker", NO_CAPACITY_METRIC, 1.0, dimensions, "Count")
    raise AwsError("ValidationError", NO_CAPACITY_MESSAGE.format(name=component.name))


# --- the ticker ----------------------------------------------------------------------------------------------


def tick() -> None:
    """For every inference component's scalable target: keep its copies in range, run breached alarms' policies."""
    for account, regions in list(applicationautoscaling_backends.items()):
        for region, scaling in list(regions.items()):
            for resource_id, target in list(scaling.targets.get(COMPONENT_DIMENSION, {}).items()):
                component = sagemaker.backend(account, region).components.get(resource_id.split("/", 1)[1])
                if component is None or component.status != "InService" or component.pending is not None:
                    continue
                desired = clamp(target, component.copy_count)
                for policy in _policies(scaling, resource_id, "TargetTrackingScaling"):
                    tracked = tracking.track(
                        account, region, component, policy, target.min_capacity or 0, target.max_capacity or 1
                    )
                    desired = desired if tracked is None else tracked
                for policy in _policies(scaling, resource_id, "StepScaling"):
                    desired = _run_alarms(account, region, component, policy, target, desired)
                _scale(component, desired)


def _policies(scaling: ApplicationAutoscalingBackend, resource_id: str, kind: str) -> list[Any]:
    return [
        policy
        for policy in scaling.policies.values()
        if policy.resource_id == resource_id and policy.policy_type == kind
    ]


def _run_alarms(account: str, region: str, component: InferenceComponent, policy: Any, target: Any, copies: int) -> int:
    """The copy count after the policy's alarms had their say (each fires once per breach, after its cooldown)."""
    configuration = policy.step_scaling_policy_configuration or {}
    cloudwatch = cloudwatch_backends[account][region]
    for alarm in list(cloudwatch.alarms.values()):
        if policy.policy_arn not in (alarm.alarm_actions or []) or not alarm.actions_enabled:
            continue
        breached, value = _breached(account, region, component, alarm)
        state = "ALARM" if breached else "OK"
        if alarm.state_value != state:
            cloudwatch.set_alarm_state(alarm.name, f"emulated evaluation: {state}", None, state)
        if not breached:
            continue
        last = _fired.get((account, alarm.name))
        if last is not None and clock.time() - last < float(configuration.get("Cooldown") or 0):
            continue
        step = matching_step(configuration.get("StepAdjustments") or [], value, alarm)
        if step is None:
            continue  # no step's interval holds the metric: Application Auto Scaling does not scale
        changed = _adjusted(configuration, step, copies)
        if clamp(target, changed) != copies:
            _fired[account, alarm.name] = clock.time()
            copies = clamp(target, changed)
    return copies


ABOVE = {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold"}
"""The comparisons whose breach is on the upper side of the threshold."""


def matching_step(steps: list[dict[str, Any]], value: float | None, alarm: Any) -> dict[str, Any] | None:
    """The step adjustment whose interval holds the breaching metric, or None (then nothing scales).

    The bounds are relative to the alarm's threshold, and their rule is the StepAdjustment page's
    (Application Auto Scaling API Reference, "StepAdjustment"): "If the metric value is above the breach
    threshold, the lower bound is inclusive (the metric must be greater than or equal to the threshold plus the
    lower bound). Otherwise, it is exclusive (the metric must be greater than the threshold plus the lower
    bound)", and the other way round for the upper bound; a missing bound is infinity. Two readings here are
    the emulator's, not verified against AWS: a metric exactly at the threshold counts as "above" when the
    alarm breaches on the upper side (GreaterThanOrEqualToThreshold, as in AWS's scale-to-zero sample, whose
    step [0, inf) fires on one NoCapacityInvocationFailures at threshold 1), below otherwise; and an alarm in
    ALARM on missing data ("breaching") gives no metric value, so no step matches.
    """
    if value is None:
        return None
    difference = value - float(alarm.threshold)
    above = difference > 0 or (difference == 0 and alarm.comparison_operator in ABOVE)
    for step in steps:
        lower = step.get("MetricIntervalLowerBound")
        upper = step.get("MetricIntervalUpperBound")
        low = -math.inf if lower is None else float(lower)
        high = math.inf if upper is None else float(upper)
        if (low <= difference < high) if above else (low < difference <= high):
            return step
    return None


def _adjusted(configuration: dict[str, Any], step: dict[str, Any], copies: int) -> int:
    adjustment = int(step.get("ScalingAdjustment", 0))
    kind = configuration.get("AdjustmentType")
    if kind == "ExactCapacity":
        return adjustment
    if kind == "PercentChangeInCapacity":
        return copies + copies * adjustment // 100
    return copies + adjustment


def _breached(account: str, region: str, component: InferenceComponent, alarm: Any) -> tuple[bool, float | None]:
    """Whether the alarm's Sum over its evaluation window breaches its threshold (missing data as it says),
    and that Sum (None: no data point)."""
    window = float(alarm.period) * int(alarm.evaluation_periods)
    if clock.time() - _first_seen.setdefault((account, alarm.name), clock.time()) < window:
        return False, None  # not a whole evaluation window since the alarm was put: missing data cannot breach yet
    since = metrics.naive_utc(clock.now()) - timedelta(seconds=window)
    dimensions = {(dimension.name, dimension.value) for dimension in alarm.dimensions}
    values = [
        datum.value
        for datum in cloudwatch_backends[account][region].metric_data
        if datum.namespace == alarm.namespace
        and datum.name == alarm.metric_name
        and {(dimension.name, dimension.value) for dimension in datum.dimensions} == dimensions
        and metrics.naive_utc(datum.timestamp) >= since
        and hasattr(datum, "value")
    ]
    if not values:
        return alarm.treat_missing_data == "breaching", None
    total = sum(values)
    breached = {
        "GreaterThanOrEqualToThreshold": total >= alarm.threshold,
        "GreaterThanThreshold": total > alarm.threshold,
        "LessThanThreshold": total < alarm.threshold,
        "LessThanOrEqualToThreshold": total <= alarm.threshold,
    }.get(alarm.comparison_operator, False)
    return breached, total


def _scale(component: InferenceComponent, copies: int) -> None:
    """Set the desired copies: fewer stop at once, more serve after the start-up time."""
    if copies == component.copy_count:
        return
    component.copy_count, component.modified = copies, clock.now()
    if copies < component.current_copy_count:
        component.current_copy_count = copies
        return

    def started() -> None:
        component.current_copy_count, component.modified = component.copy_count, clock.now()

    component.pending = Pending(clock.monotonic() + CURRENT.config.transition_seconds, started)


def reset() -> None:
    """Forget the alarms' firings (the emulator's reset)."""
    _first_seen.clear()
    _fired.clear()
    _tags.clear()
    tracking.reset()
