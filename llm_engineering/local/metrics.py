"""The CloudWatch metrics SageMaker publishes, published by the emulator into moto's CloudWatch.

Every invocation that reaches a model records, at the emulated time, what SageMaker records for it in
`AWS/SageMaker`: `Invocations` (1), `Invocation4XXErrors` and `Invocation5XXErrors` (0 or 1: SageMaker
publishes zeros while requests arrive, so "no errors" and "no traffic" differ), `ModelLatency` (the emulated
container's own time, to its last byte when streaming) and `OverheadLatency` (the rest of the emulator's
handling), both in microseconds, and the concurrent requests in flight. Model-based endpoints are measured per
variant (`EndpointName`, `VariantName`), inference components per component (`InferenceComponentName`, with
`...PerCopy` names).

A sampler (a `clock.register` ticker) publishes every SAMPLE_SECONDS plausible host utilization from the load
of that interval: `/aws/sagemaker/Endpoints` per variant and `/aws/sagemaker/InferenceComponents` per
component. moto's GetMetricData lacks percentile statistics (p50, p90, p99); `install()` adds them.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import Statistics, cloudwatch_backends

from llm_engineering.local import clock

INVOCATIONS = "AWS/SageMaker"
ENDPOINT_HOSTS = "/aws/sagemaker/Endpoints"
COMPONENT_HOSTS = "/aws/sagemaker/InferenceComponents"
SAMPLE_SECONDS = 10.0
"""Utilization samples this far apart in emulated time (SageMaker's own are per minute, or 10 s with
high-resolution metrics)."""
MICROSECONDS = "Microseconds"

Dimensions = tuple[tuple[str, str], ...]


@dataclass
class _Load:
    """What one variant or component did since the last sample."""

    in_flight: int = 0
    busy_seconds: float = 0.0


@dataclass
class _Meter:
    """In-flight and busy time per variant or component, for concurrency and the sampler."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    loads: dict[tuple[str, str, Dimensions], _Load] = field(default_factory=lambda: defaultdict(_Load))
    last_sample: float | None = None


_METER = _Meter()


def dimensions_of(endpoint_name: str, variant_name: str, component_name: str | None) -> Dimensions:
    """How SageMaker identifies the invocation's target in `AWS/SageMaker`."""
    if component_name:
        return (("InferenceComponentName", component_name),)
    return (("EndpointName", endpoint_name), ("VariantName", variant_name))


def _put(account: str, region: str, namespace: str, data: list[dict[str, Any]]) -> None:
    cloudwatch_backends[account][region].put_metric_data(namespace, data)


def publish(
    account: str, region: str, namespace: str, name: str, value: float, dimensions: Dimensions, unit: str
) -> None:
    """One data point now, as SageMaker would publish it (for the emulator's other publishers, e.g. autoscaling)."""
    _put(account, region, namespace, [_datum(name, value, dimensions, unit)])


def naive_utc(stamp: datetime) -> datetime:
    """moto keeps the timestamps it parses naive (UTC): compare everything that way."""
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo is not None else stamp


def _datum(name: str, value: float, dimensions: Dimensions, unit: str) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Value": value,
        "Unit": unit,
        "Timestamp": clock.now().replace(tzinfo=None),  # naive UTC, as moto keeps the ones it parses
        "Dimensions": [{"Name": key, "Value": item} for key, item in dimensions],
    }


class Invocation:
    """One invocation being measured: `start()` when it reaches the model, `finish()` once answered."""

    def __init__(self, account: str, region: str, dimensions: Dimensions) -> None:
        self.account, self.region, self.dimensions = account, region, dimensions
        self.per_copy = dimensions[0][0] == "InferenceComponentName"
        self.started = clock.monotonic()
        self.model_started = self.started
        self.model_seconds = 0.0
        self.key = (account, region, dimensions)
        self._finished = False

    def start_model(self) -> None:
        """The container starts working; publishes the concurrency it finds."""
        self.model_started = clock.monotonic()
        with _METER.lock:
            load = _METER.loads[self.key]
            load.in_flight += 1
            in_flight = load.in_flight
        name = "ConcurrentRequestsPerCopy" if self.per_copy else "ConcurrentRequestsPerModel"
        _put(self.account, self.region, INVOCATIONS, [_datum(name, in_flight, self.dimensions, "Count")])

    def finish(self, status: int) -> None:
        """The answer is complete (its last byte when streaming): publish what SageMaker records for it."""
        if self._finished:
            return
        self._finished = True
        ended = clock.monotonic()
        self.model_seconds = max(ended - self.model_started, 0.0)
        overhead = max(ended - self.started - self.model_seconds, 0.0)
        with _METER.lock:
            load = _METER.loads[self.key]
            load.in_flight = max(load.in_flight - 1, 0)
            load.busy_seconds += self.model_seconds
        suffix = "PerCopy" if self.per_copy else "PerInstance"
        data = [
            _datum("Invocations", 1, self.dimensions, "Count"),
            _datum(f"Invocations{suffix}", 1, self.dimensions, "Count"),
            _datum("Invocation4XXErrors", 1 if 400 <= status < 500 else 0, self.dimensions, "Count"),
            _datum("Invocation5XXErrors", 1 if status >= 500 else 0, self.dimensions, "Count"),
            _datum("ModelLatency", round(self.model_seconds * 1e6), self.dimensions, MICROSECONDS),
            # The emulator's own handling is quick: SageMaker's overhead is typically a few milliseconds.
            _datum("OverheadLatency", max(round(overhead * 1e6), 1), self.dimensions, MICROSECONDS),
        ]
        _put(self.account, self.region, INVOCATIONS, data)

    def measured(self, chunks: Iterator[bytes], status: int) -> Iterator[bytes]:
        """`chunks` passed through; the invocation finishes with the last one (or when the client goes away)."""
        try:
            yield from chunks
        finally:
            self.finish(status)


# --- the sampler --------------------------------------------------------------------------------------


def _utilization(busy_fraction: float, in_flight: int) -> dict[str, float]:
    """Plausible host figures for a share of an interval spent generating: an idle LLM server still holds its
    weights and KV cache in GPU memory (about 90% with vLLM's and TGI's defaults)."""
    load = min(max(busy_fraction, 1.0 if in_flight else 0.0), 1.0)
    return {
        "GPUUtilization": round(2 + 93 * load, 1),
        "GPUMemoryUtilization": round(88 + 2 * load, 1),
        "CPUUtilization": round(3 + 22 * load, 1),
        "MemoryUtilization": round(21 + 4 * load, 1),
    }


Target = tuple[str, str, str, Dimensions, list[Dimensions]]
"""(account, region, namespace, dimensions, whose invocations load it) of a variant or component with instances."""


def sampler(targets: Callable[[], list[Target]]) -> Callable[[], None]:
    """A ticker that publishes utilization for `targets()` once every SAMPLE_SECONDS of emulated time."""

    def sample() -> None:
        now = clock.monotonic()
        if _METER.last_sample is not None and now - _METER.last_sample < SAMPLE_SECONDS:
            return
        interval = SAMPLE_SECONDS if _METER.last_sample is None else now - _METER.last_sample
        _METER.last_sample = now
        found = targets()
        with _METER.lock:
            loads = {key: (load.busy_seconds, load.in_flight) for key, load in _METER.loads.items()}
            for load in _METER.loads.values():
                load.busy_seconds = 0.0
        for account, region, namespace, dimensions, sources in found:
            measured = [loads.get((account, region, source), (0.0, 0)) for source in sources]
            busy = sum(item[0] for item in measured) / max(len(sources), 1)
            figures = _utilization(busy / interval, sum(item[1] for item in measured))
            suffix = "Normalized" if namespace == COMPONENT_HOSTS else ""
            data = [_datum(name + suffix, value, dimensions, "Percent") for name, value in figures.items()]
            _put(account, region, namespace, data)

    return sample


def reset() -> None:
    """Forget loads and the last sample (the emulator's reset)."""
    with _METER.lock:
        _METER.loads.clear()
        _METER.last_sample = None


# --- percentiles in moto's GetMetricData ----------------------------------------------------------------

_installed = False


def percentile(values: list[float], rank: float) -> float | None:
    """The nearest-rank percentile (CloudWatch's pNN over raw values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(rank / 100 * len(ordered)) - 1, 0)]


def install() -> None:
    """Teach moto's statistics `pNN` (idempotent): GetMetricData with `Stat: p99` otherwise answers nothing."""
    global _installed
    if _installed:
        return
    plain = Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Statistics, stat: str) -> Any:
        if stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit():
            return percentile(self.metric_single_values_list, float(stat[1:]))
        return plain(self, stat)

    Statistics.get_statistics_for_type = get_statistics_for_type  # type: ignore[method-assign]
    _installed = True


# --- the emulator's start ------------------------------------------------------------------------------


def _nothing_hosted() -> list[Target]:
    return []


_hosted: Callable[[], list[Target]] = _nothing_hosted
"""What the sampler measures: given at start-up by the module that knows the hosted endpoints
(`sagemaker.hosted_targets`), so that this one, which they publish through, needs not know them."""


def _targets() -> list[Target]:
    return _hosted()


_SAMPLE = sampler(_targets)


def register(hosted: Callable[[], list[Target]]) -> None:
    """Publish percentiles, and the utilization of the variants and components `hosted()` lists, from now on
    (the emulator's start; idempotent)."""
    global _hosted
    install()
    _hosted = hosted
    clock.register(_SAMPLE)
