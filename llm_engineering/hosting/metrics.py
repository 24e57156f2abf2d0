"""An endpoint's CloudWatch metrics over a span of time, in a few batched GetMetricData calls.

Which metrics, in which namespace and with which dimensions, is what SageMaker publishes: invocation metrics in
`AWS/SageMaker` per variant (`EndpointName`, `VariantName`) or, on an inference-component endpoint, per
component (`InferenceComponentName`); host utilization in `/aws/sagemaker/Endpoints` per variant, and each
component's share in `/aws/sagemaker/InferenceComponents`. Latencies arrive in microseconds and are shown in
milliseconds. A period without a data point stays None (CloudWatch records nothing when nothing happens, and
zero would claim a measurement).
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from llm_engineering.aws import paginate
from llm_engineering.durations import describe
from llm_engineering.errors import ConfigurationError

INVOCATIONS = "AWS/SageMaker"
ENDPOINT_HOSTS = "/aws/sagemaker/Endpoints"
COMPONENT_HOSTS = "/aws/sagemaker/InferenceComponents"
MAX_QUERIES = 500
"""GetMetricData accepts at most 500 queries per call."""
POINTS = 60
"""About this many points per series: enough for a sparkline, few enough to read."""
RETENTION = ((60, timedelta(days=15)), (300, timedelta(days=63)), (3600, timedelta(days=455)))
"""CloudWatch keeps 1-minute points for 15 days, 5-minute points for 63 days, 1-hour points for 455 days."""
PERCENTILES = ("p50", "p90", "p99")
OVERHEAD_STATISTICS = ("Average", "Maximum")
"""The SageMaker guide's invocation metrics list percentiles among ModelLatency's valid statistics, not among
OverheadLatency's (Average, Sum, Min, Max, Sample Count): only those are asked of it."""
NORMALIZED = (
    "GPUUtilizationNormalized",
    "GPUMemoryUtilizationNormalized",
    "CPUUtilizationNormalized",
    "MemoryUtilizationNormalized",
)
"""A component's utilization, as a share of what it reserved."""
FAMILIES = ("requests", "errors", "latency", "concurrency", "utilization")
"""Metric families in the order they are shown (one chart panel each)."""


@dataclass(frozen=True)
class Metric:
    """One series to fetch: a CloudWatch metric, a statistic, and how it is shown."""

    family: str
    namespace: str
    name: str
    stat: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str
    """What the shown values are in: `count`, `ms` or `%`."""
    scale: float = 1.0
    """Shown value = CloudWatch's value x scale (microseconds -> milliseconds: 0.001)."""

    @property
    def label(self) -> str:
        owner = dict(self.dimensions).get("InferenceComponentName") or dict(self.dimensions).get("VariantName", "")
        stat = "" if self.stat in {"Sum", "Average"} else f" {self.stat}"
        return f"{self.name}{stat} ({owner})" if owner else f"{self.name}{stat}"

    def cli_command(self, region: str, start: datetime, end: datetime, period: int) -> str:
        """The AWS CLI command that returns this series' figures (CloudWatch's own units: latencies in
        microseconds): every dimension it was published with, the period, the statistic and the UTC window."""
        statistic = "--extended-statistics" if self.stat.startswith("p") else "--statistics"
        dimensions = " ".join(shlex.quote(f"Name={name},Value={value}") for name, value in self.dimensions)
        words = [
            "aws cloudwatch get-metric-statistics",
            f"--region {shlex.quote(region)}",
            f"--namespace {shlex.quote(self.namespace)}",
            f"--metric-name {shlex.quote(self.name)}",
            f"--dimensions {dimensions}",
            f"--start-time {start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
            f"--end-time {end.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
            f"--period {period}",
            f"{statistic} {self.stat}",
        ]
        return " ".join(words)

    def query(self, query_id: str, period: int) -> dict[str, Any]:
        """The GetMetricData query of this series."""
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.name,
                    "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
                },
                "Period": period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


def _invocation_metrics(dimensions: tuple[tuple[str, str], ...], per_copy: bool) -> list[Metric]:
    metrics = [
        Metric("requests", INVOCATIONS, "Invocations", "Sum", dimensions, "count"),
        Metric("errors", INVOCATIONS, "Invocation4XXErrors", "Sum", dimensions, "count"),
        Metric("errors", INVOCATIONS, "Invocation5XXErrors", "Sum", dimensions, "count"),
    ]
    latencies = {"ModelLatency": PERCENTILES, "OverheadLatency": OVERHEAD_STATISTICS}
    for name, statistics in latencies.items():
        metrics += [Metric("latency", INVOCATIONS, name, stat, dimensions, "ms", 0.001) for stat in statistics]
    concurrency = "ConcurrentRequestsPerCopy" if per_copy else "ConcurrentRequestsPerModel"
    return [*metrics, Metric("concurrency", INVOCATIONS, concurrency, "Maximum", dimensions, "count")]


def endpoint_metrics(endpoint_name: str, variants: Iterable[str], components: Iterable[str]) -> list[Metric]:
    """Every series `make metrics` shows for an endpoint: per component when it hosts components (SageMaker
    publishes their invocations per component), else per variant; host utilization per variant in any case."""
    metrics: list[Metric] = []
    components = list(components)
    for component in components:
        metrics += _invocation_metrics((("InferenceComponentName", component),), per_copy=True)
    hosts: list[Metric] = []
    for variant in variants:
        dimensions = (("EndpointName", endpoint_name), ("VariantName", variant))
        if not components:
            metrics += _invocation_metrics(dimensions, per_copy=False)
        for name in ("GPUUtilization", "GPUMemoryUtilization", "CPUUtilization", "MemoryUtilization"):
            hosts.append(Metric("utilization", ENDPOINT_HOSTS, name, "Average", dimensions, "%"))
    for component in components:
        for name in NORMALIZED:
            hosts.append(
                Metric("utilization", COMPONENT_HOSTS, name, "Average", (("InferenceComponentName", component),), "%")
            )
    return metrics + hosts


def choose_period(span: timedelta, period: timedelta | None = None) -> int:
    """Seconds per point: about POINTS over `span` in whole minutes, coarse enough for what CloudWatch still
    keeps that far back; a `period` given must itself still be kept for `span`."""
    if span > RETENTION[-1][1]:
        raise ConfigurationError(
            f"--since={describe(span)} is beyond CloudWatch's retention ({RETENTION[-1][1].days} days): "
            "choose a shorter span."
        )
    if period is not None:
        seconds = round(period.total_seconds())
        if seconds < 60 or seconds % 60:
            raise ConfigurationError(f"--period={describe(period)} is invalid: use whole minutes (1m, 5m, 1h).")
        for resolution, kept in RETENTION:
            if seconds >= resolution and span <= kept:
                return seconds
        finest = next(resolution for resolution, kept in RETENTION if span <= kept)
        raise ConfigurationError(
            f"--since={describe(span)} is beyond CloudWatch's retention for --period={describe(period)}: "
            f"use --period={describe(timedelta(seconds=finest))} or more, or a shorter --since."
        )
    finest = next(resolution for resolution, kept in RETENTION if span <= kept)
    wanted = math.ceil(span.total_seconds() / POINTS / 60) * 60
    return max(finest, math.ceil(wanted / finest) * finest)


@dataclass
class Series:
    """One metric's points on the period grid, oldest first; None where CloudWatch has no data point."""

    metric: Metric
    times: list[datetime]
    values: list[float | None]

    @property
    def present(self) -> list[float]:
        return [value for value in self.values if value is not None]

    @property
    def latest(self) -> float | None:
        return next((value for value in reversed(self.values) if value is not None), None)

    def summary(self) -> dict[str, float | None]:
        """latest, min, avg and max of the points present (all None without data)."""
        present = self.present
        if not present:
            return {"latest": None, "min": None, "avg": None, "max": None}
        return {"latest": self.latest, "min": min(present), "avg": sum(present) / len(present), "max": max(present)}


@dataclass
class MetricsReport:
    """Every series of one endpoint over `start`..`end`."""

    endpoint_name: str
    start: datetime
    end: datetime
    period: int
    series: list[Series] = field(default_factory=list)
    batches: int = 0
    """GetMetricData batches sent (of up to MAX_QUERIES queries; each may take more than one page)."""

    @property
    def empty(self) -> bool:
        return all(not item.present for item in self.series)

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint_name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "period_seconds": self.period,
            "metrics": [
                {
                    "family": item.metric.family,
                    "namespace": item.metric.namespace,
                    "metric": item.metric.name,
                    "stat": item.metric.stat,
                    "dimensions": dict(item.metric.dimensions),
                    "unit": item.metric.unit,
                    **item.summary(),
                    "points": [
                        {"time": time.isoformat(), "value": value}
                        for time, value in zip(item.times, item.values, strict=True)
                    ],
                }
                for item in self.series
            ],
        }


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


def _grid(start: datetime, end: datetime, period: int) -> list[datetime]:
    """Period boundaries from `start` (aligned down to the period) up to `end`."""
    epoch = math.floor(start.timestamp() / period) * period
    times = []
    while epoch < end.timestamp():
        times.append(datetime.fromtimestamp(epoch, tz=UTC))
        epoch += period
    return times


def fetch_metrics(
    cloudwatch: Any,
    endpoint_name: str,
    metrics: list[Metric],
    span: timedelta,
    *,
    period: int,
    now: datetime | None = None,
) -> MetricsReport:
    """Every series of `metrics` over the last `span`, in calls of up to MAX_QUERIES queries each."""
    # Both ends on period boundaries (GetMetricData's advice for StartTime and EndTime); the end rounded up, so
    # that the current, partial period is shown too.
    moment = (now or datetime.now(UTC)).timestamp()
    end = datetime.fromtimestamp(math.ceil(moment / period) * period, tz=UTC)
    start = datetime.fromtimestamp(math.floor((moment - span.total_seconds()) / period) * period, tz=UTC)
    report = MetricsReport(endpoint_name, start, end, period)
    found: dict[str, dict[datetime, float]] = {f"m{index}": {} for index in range(len(metrics))}
    queries = [metric.query(f"m{index}", period) for index, metric in enumerate(metrics)]
    for batch in _chunks(queries, MAX_QUERIES):
        for result in _pages(cloudwatch, report, batch, start, end):
            points = found[result["Id"]]
            for time, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                points[time.astimezone(UTC)] = value
    grid = _grid(start, end, period)
    for index, metric in enumerate(metrics):
        points = {_align(time, period): value for time, value in found[f"m{index}"].items()}
        values = [None if time not in points else points[time] * metric.scale for time in grid]
        report.series.append(Series(metric, grid, values))
    return report


def _align(time: datetime, period: int) -> datetime:
    return datetime.fromtimestamp(math.floor(time.timestamp() / period) * period, tz=UTC)


def _pages(
    cloudwatch: Any, report: MetricsReport, batch: list[dict[str, Any]], start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    """The results of one batch, every page (a series may continue on the next page)."""
    params = {"MetricDataQueries": batch, "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
    yield from paginate(cloudwatch, "get_metric_data", "MetricDataResults", **params)
    report.batches += 1
