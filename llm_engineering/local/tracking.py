"""Target tracking for the emulator's inference components: the copies follow the traffic.

Application Auto Scaling keeps a target-tracking metric near its target value with two CloudWatch alarms it
creates and owns: a high one (the metric above the target for 3 one-minute periods in a row) that scales out,
and a low one (below 90% of the target for 15 periods) that scales in, each in proportion (new copies =
ceil(copies x metric / target)) and held back by the policy's ScaleOutCooldown / ScaleInCooldown. That scale-in
waits for the metric "usually more than 10%" below the target is the Application Auto Scaling User Guide's
("How target tracking scaling for Application Auto Scaling works"); the 3 and 15 periods are how AWS's own
alarms for it are commonly described and could not be verified here. The emulator evaluates the same rule
directly on the metrics it publishes (`local/metrics.py`), without creating the alarms.

The metrics, per copy in service: `SageMakerInferenceComponentInvocationsPerCopy` from the minute's
`Invocations` of the component, `SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution` from the
minute's average `ConcurrentRequestsPerCopy`.

To zero: with the scalable target's MinCapacity 0, an inference component's target tracking scales it in to
zero copies when it has had no request ("Scale an endpoint to zero instances", SageMaker Developer Guide; AWS's
sample notebook for it says about 10-15 minutes). A minute without a request publishes no data point, read
here as 0, so the proportional rule asks for ceil(copies x 0 / target) = 0 copies after IN_MINUTES quiet
minutes. Only whole minutes since the policy was first put count for that (a new policy's alarm has no 15
periods yet), and the ScaleInCooldown holds it back as for any scale-in. Target tracking never leaves zero (no
copy, no metric per copy): the step policy on NoCapacityInvocationFailures does (`local/autoscaling.py`).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from llm_engineering.local import clock, metrics
from llm_engineering.local.base import InferenceComponent

OUT_MINUTES = 3
IN_MINUTES = 15
IN_FRACTION = 0.9
PER_COPY = {
    "SageMakerInferenceComponentInvocationsPerCopy": ("Invocations", sum),
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": (
        "ConcurrentRequestsPerCopy",
        lambda values: sum(values) / len(values),
    ),
}
"""The predefined metric -> the metric the emulator publishes, and how a minute of it is aggregated."""

_scaled: dict[tuple[str, str], float] = {}
"""(account, policy ARN) -> emulated time its last scaling: the cooldowns count from it."""
_seen: dict[tuple[str, str], float] = {}
"""(account, policy ARN) -> emulated time it was first put (else first evaluated): scale-in to zero waits
IN_MINUTES from it."""
_copies: dict[tuple[str, str], dict[datetime, int]] = {}
"""(account, component) -> minute -> the copies in service then: a minute's metric per copy is per those."""


def _minutes(account: str, region: str, component: InferenceComponent, metric: str, count: int) -> list[float]:
    """The last `count` whole minutes of the metric per copy in service, newest first, on the clock's minute
    boundaries as CloudWatch's periods are (0 for a minute without data: no invocation, nothing in flight)."""
    name, aggregate = PER_COPY[metric]
    now = _minute()
    dimensions = {("InferenceComponentName", component.name)}
    oldest = now - timedelta(minutes=count)
    stamps = [
        (metrics.naive_utc(datum.timestamp), datum.value)
        for datum in cloudwatch_backends[account][region].metric_data
        if datum.namespace == metrics.INVOCATIONS
        and datum.name == name
        and {(dimension.name, dimension.value) for dimension in datum.dimensions} == dimensions
        and hasattr(datum, "value")
        and metrics.naive_utc(datum.timestamp) >= oldest
    ]
    seen = _copies.get((account, component.name), {})
    found = []
    for minute in range(count):
        end = now - timedelta(minutes=minute)
        values = [value for stamp, value in stamps if end - timedelta(minutes=1) <= stamp < end]
        copies = seen.get(end - timedelta(minutes=1)) or component.current_copy_count
        found.append(aggregate(values) / copies if values else 0.0)
    return found


def _minute() -> datetime:
    """The start of the emulated minute under way (CloudWatch's periods are whole minutes)."""
    return metrics.naive_utc(clock.now()).replace(second=0, microsecond=0)


def _note_copies(account: str, component: InferenceComponent) -> None:
    """Remember the copies in service this minute (kept for the IN_MINUTES a policy looks back)."""
    seen = _copies.setdefault((account, component.name), {})
    now = _minute()
    seen[now] = max(seen.get(now, 0), component.current_copy_count)
    for old in [minute for minute in seen if minute < now - timedelta(minutes=IN_MINUTES + 1)]:
        del seen[old]


def policy_put(account: str, policy_arn: str) -> None:
    """Note when a policy was first put (PutScalingPolicy again updates it: its windows go on)."""
    _seen.setdefault((account, policy_arn), clock.time())


def track(account: str, region: str, component: InferenceComponent, policy: Any, low: int, high: int) -> int | None:
    """The copies the policy asks for now (within `low`..`high`, at least 1 unless it goes to zero), or None when
    it holds still."""
    configuration = policy.target_tracking_scaling_policy_configuration or {}
    metric = (configuration.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    target = float(configuration.get("TargetValue") or 0)
    copies = component.current_copy_count
    _note_copies(account, component)
    if metric not in PER_COPY or target <= 0 or copies == 0 or copies != component.copy_count:
        return None  # a metric the emulator does not publish, no copy to measure, or a change under way
    seen = clock.time() - _seen.setdefault((account, policy.policy_arn), clock.time())
    since = clock.time() - _scaled.get((account, policy.policy_arn), -math.inf)
    recent = _minutes(account, region, component, metric, IN_MINUTES)
    out = all(value > target for value in recent[:OUT_MINUTES])
    scale_in = not out and all(value < IN_FRACTION * target for value in recent)
    wanted = None
    if out and since >= float(configuration.get("ScaleOutCooldown") or 0):
        wanted = math.ceil(copies * sum(recent[:OUT_MINUTES]) / OUT_MINUTES / target)
    elif (
        scale_in
        and not configuration.get("DisableScaleIn")
        and since >= float(configuration.get("ScaleInCooldown") or 0)
    ):
        wanted = math.ceil(copies * sum(recent) / IN_MINUTES / target)
    if wanted is None:
        return None
    to_zero = wanted == 0 and low == 0 and seen >= IN_MINUTES * 60  # no request for IN_MINUTES: no data point
    wanted = 0 if to_zero else max(1, low, min(high, wanted))
    if wanted == copies:
        return None
    _scaled[account, policy.policy_arn] = clock.time()
    return wanted


def reset() -> None:
    """Forget the scalings (the emulator's reset)."""
    _scaled.clear()
    _seen.clear()
    _copies.clear()
