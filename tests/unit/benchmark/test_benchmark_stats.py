"""Statistics of a level from known timings: percentiles, scaling back emulated time, cost, harness share."""

from __future__ import annotations

import pytest

from llm_engineering.catalogue.prices import Cost
from llm_engineering.loadtest.load import LevelRun, Sample
from llm_engineering.loadtest.stats import Emulation, percentile, summarize
from llm_engineering.local.eventstream import rechunk


def sample(ttft: float, gap: float, tokens: int, **headers: str) -> Sample:
    return Sample(
        started=0.0,
        ttft=ttft,
        e2e=ttft + gap * (tokens - 1),
        gaps=[gap] * (tokens - 1),
        output_tokens=tokens,
        headers=headers,
    )


def test_percentiles_interpolate_between_ranks():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 99) == 10
    assert percentile([], 50) is None
    assert percentile(list(range(101)), 90) == 90


def test_a_level_is_scaled_back_to_modelled_time_and_priced():
    samples = [sample(0.01, 0.002, 11, **{"x-emulator-timing": "roofline", "x-emulator-time-scale": "10"})] * 4
    samples.append(Sample(started=0.0, error="ModelStreamFailure"))
    run = LevelRun(concurrency=2, samples=samples, wall_seconds=0.1, harness_cpu_seconds=0.0044)
    emulation = Emulation.of(samples)
    assert emulation == Emulation("roofline", 10.0)
    level = summarize(run, emulation.scale, Cost(3.6))
    assert level["ttft_ms"]["p50"] == pytest.approx(100)  # 10 ms real x 10
    assert level["itl_ms"]["p99"] == pytest.approx(20)
    assert level["decode_tokens_per_second_p50"] == pytest.approx(50)  # 500/s real / 10
    assert level["output_tokens_per_second"] == pytest.approx(44)  # 44 tokens over 1 modelled second
    assert level["usd_per_million_output_tokens"] == pytest.approx(3.6 / (44 * 3600) * 1e6, rel=1e-3)
    assert (level["errors"], level["error_kinds"], level["completed"]) == (1, {"ModelStreamFailure": 1}, 4)
    assert level["harness"]["cpu_us_per_token"] == pytest.approx(100)  # real CPU time, never scaled
    assert level["harness"]["cpu_per_token_over_itl_p50"] == pytest.approx(0.05)  # 100 us over a 2 ms real gap


def test_answers_without_the_emulators_headers_are_not_emulated():
    assert Emulation.of([sample(0.01, 0.002, 3)]) is None


def test_flushed_chunks_cut_each_piece_once_and_lose_nothing():
    pieces = [b"a" * 200, b"b" * 10, b"c" * 400]
    parts = list(rechunk(pieces, [64, 300, 16], flush=True))
    assert parts == [b"a" * 64, b"a" * 136, b"b" * 10, b"c" * 16, b"c" * 384]
    assert b"".join(parts) == b"".join(pieces)
