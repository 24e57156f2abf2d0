"""The figures of a level: percentiles of TTFT, ITL and E2E, throughput, errors, cost per million tokens.

Definitions (the README states them for readers):
- TTFT: request sent -> first token received; E2E: request sent -> last byte of the answer.
- ITL: the gaps between consecutive tokens of a request, pooled over every request of the level.
- decode rate of a request: (output tokens - 1) / (E2E - TTFT), tokens from the engine's own count.
- requests/s and output tokens/s: completed requests and their output tokens over the level's wall time.
Percentiles are linear interpolations between closest ranks (numpy's default, as llmperf's pandas quantiles).

Against the emulator the answers say how much faster than modelled they ran (`X-Emulator-Time-Scale`):
times are multiplied by it and rates divided, so the figures are the modelled ones; the harness's own CPU
time is real and never scaled.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_engineering.catalogue.prices import Cost
from llm_engineering.loadtest.load import LevelRun, Sample

PERCENTILES = (50, 90, 99)
TIMING_HEADER = "x-emulator-timing"
SCALE_HEADER = "x-emulator-time-scale"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p90, p99 and the mean, in milliseconds."""
    found: dict[str, float | None] = {}
    for q in PERCENTILES:
        value = percentile(values, q)
        found[f"p{q}"] = round(value * 1000, 3) if value is not None else None
    found["mean"] = round(sum(values) / len(values) * 1000, 3) if values else None
    return found


@dataclass(frozen=True)
class Emulation:
    """How the endpoint's answers were timed: None on a real endpoint."""

    timing: str
    """`roofline` (the emulator's timing model) or `fixed-delay`."""
    scale: float

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Emulation | None:
        for sample in samples:
            timing = sample.headers.get(TIMING_HEADER)
            if timing:
                try:
                    scale = float(sample.headers.get(SCALE_HEADER, "1"))
                except ValueError:
                    scale = 1.0
                return cls(timing, scale if math.isfinite(scale) and scale > 0 else 1.0)
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"timing": self.timing, "time_scale": self.scale}


def decode_rate(sample: Sample) -> float | None:
    """Tokens/s of one request after its first token."""
    if not sample.ok or sample.ttft is None or sample.e2e is None or sample.output_tokens < 2:
        return None
    decoding = sample.e2e - sample.ttft
    return (sample.output_tokens - 1) / decoding if decoding > 0 else None


def summarize(run: LevelRun, scale: float = 1.0, cost: Cost | None = None) -> dict[str, Any]:
    """One level's figures, JSON-ready (times in ms, already scaled to modelled time)."""
    done = [sample for sample in run.samples if sample.ok]
    ttft = [sample.ttft * scale for sample in done if sample.ttft is not None]
    e2e = [sample.e2e * scale for sample in done if sample.e2e is not None]
    gaps = [gap * scale for sample in done for gap in sample.gaps]
    rates = [rate / scale for sample in done if (rate := decode_rate(sample)) is not None]
    wall = run.wall_seconds * scale
    tokens = sum(sample.output_tokens for sample in done)
    received = sum(len(sample.gaps) + (sample.ttft is not None) for sample in done)
    throughput = tokens / wall if wall > 0 else 0.0
    errors = Counter(sample.error for sample in run.samples if sample.error is not None)
    cpu_per_token = run.harness_cpu_seconds / received if received else None
    level: dict[str, Any] = {
        "concurrency": run.concurrency,
        "requests": len(run.samples),
        "completed": len(done),
        "errors": sum(errors.values()),
        "error_kinds": dict(sorted(errors.items())),
        "wall_seconds": round(wall, 3),
        "ttft_ms": spread(ttft),
        "itl_ms": spread(gaps),
        "e2e_ms": spread(e2e),
        "output_tokens": tokens,
        "requests_per_second": round(len(done) / wall, 4) if wall > 0 else 0.0,
        "output_tokens_per_second": round(throughput, 2),
        "decode_tokens_per_second_p50": round(rate, 2) if (rate := percentile(rates, 50)) is not None else None,
        "usd_per_million_output_tokens": usd_per_million(cost, throughput),
        "harness": {
            "cpu_seconds": round(run.harness_cpu_seconds, 4),
            "cpu_us_per_token": round(cpu_per_token * 1e6, 2) if cpu_per_token is not None else None,
            "cpu_share_of_one_core": round(run.harness_cpu_seconds / run.wall_seconds, 4) if run.wall_seconds else None,
            "cpu_per_token_over_itl_p50": _over(cpu_per_token, percentile(gaps, 50), scale),
        },
    }
    return level


def _over(cpu_per_token: float | None, itl: float | None, scale: float) -> float | None:
    """The harness's CPU time per token as a share of the real gap between tokens (ITL is scaled back)."""
    if cpu_per_token is None or not itl:
        return None
    return round(cpu_per_token / (itl / scale), 4)


def usd_per_million(cost: Cost | None, tokens_per_second: float) -> float | None:
    """What a million output tokens cost at that throughput: the fleet's price per hour over tokens per hour."""
    if cost is None or tokens_per_second <= 0:
        return None
    return round(cost.usd_per_hour / (tokens_per_second * 3600) * 1e6, 4)
