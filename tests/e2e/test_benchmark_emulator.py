"""`make benchmark` and `make benchmark-compare` against the emulator with its timing model on.

The checks are the timing model's own closed form: a single stream decodes at the modelled roofline (within
10%), which agrees with the roofline the benchmark reports from preflight's independent computation; eight
streams together produce more than one, percentiles are ordered, and the harness's own CPU time per token
stays a small share of the gap between tokens at 64 streams.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import create_execution_role, ok, run_in_process, run_make

from llm_engineering.local.hub_catalogue import builtin_catalogue
from llm_engineering.local.server import configure
from llm_engineering.local.timing import model_for
from llm_engineering.model.deploy import deploy

QWEN = "Qwen/Qwen2.5-7B-Instruct"
INSTANCE = "ml.g5.2xlarge"  # the tool's default GPU_INSTANCE_TYPE


@pytest.fixture
def deployed(server_env: dict[str, str], aws_server: str, capsys) -> dict[str, str]:
    """An InService endpoint serving Qwen2.5-7B on the default instance, the Hub reachable for the roofline."""
    env = {**server_env, "WAIT_POLL_INTERVAL": "0.1", "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"{aws_server}/_hub"}
    create_execution_role(env, capsys)
    ok(run_in_process(deploy.main, env, "--yes", capsys=capsys))  # make's own deploy runs elsewhere in tests/e2e
    return env


def benchmark(env: dict[str, str], out: Path, arguments: str) -> dict:
    result = ok(run_make("benchmark", env, f"ARGS={arguments} --out {out}"))
    assert f"Results: {out}.json and {out}.png" in result.stdout
    assert "EMULATED" in result.stdout
    return json.loads(out.with_suffix(".json").read_text())


def test_sweep_matches_the_timing_models_closed_form(deployed, aws_server, tmp_path):
    configure(aws_server, timing_model=True, time_scale=10)
    document = benchmark(deployed, tmp_path / "sweep", "--concurrency 1,8 --requests 8 --input-tokens 64")
    known = builtin_catalogue()[QWEN]
    modelled = model_for(known.parameters, known.config, INSTANCE, 1, {}).roofline_tokens_per_second

    assert document["emulated"] is True and document["emulation"] == {"timing": "roofline", "time_scale": 10.0}
    single = document["single_stream"]
    # the benchmark's roofline is preflight's, the pace the emulator's own: computed apart, they agree
    assert single["roofline_tokens_per_second"] == pytest.approx(modelled, rel=0.001)
    assert single["decode_tokens_per_second"] == pytest.approx(modelled, rel=0.10)
    one, eight = document["levels"]
    assert (one["concurrency"], eight["concurrency"]) == (1, 8)
    assert eight["output_tokens_per_second"] > one["output_tokens_per_second"]
    for level in (one, eight):
        assert level["errors"] == 0 and level["completed"] == 8
        for figure in ("ttft_ms", "itl_ms", "e2e_ms"):
            assert level[figure]["p99"] >= level[figure]["p90"] >= level[figure]["p50"] > 0
        assert level["usd_per_million_output_tokens"] == pytest.approx(
            1.52 / (level["output_tokens_per_second"] * 3600) * 1e6, rel=0.01
        )
    assert (tmp_path / "sweep.png").read_bytes().startswith(b"\x89PNG")


def test_harness_overhead_at_64_streams_is_measured_and_small(deployed, aws_server, tmp_path):
    configure(aws_server, timing_model=True, time_scale=1)
    document = benchmark(deployed, tmp_path / "load", "--concurrency 64 --requests 64 --input-tokens 16")
    harness = document["harness"]
    assert harness["concurrency"] == 64
    assert harness["cpu_us_per_token"] > 0
    assert harness["cpu_per_token_over_itl_p50"] < 0.1


def test_compare_picks_the_cheapest_configuration_meeting_the_slo(deployed, aws_server, tmp_path, capsys):
    configure(aws_server, timing_model=True, time_scale=10)
    first = benchmark(deployed, tmp_path / "a", "--concurrency 1,4 --requests 4 --input-tokens 32")
    other = {**deployed, "ENDPOINT_NAME": "llm-engineering-g6e", "GPU_INSTANCE_TYPE": "ml.g6e.xlarge"}
    ok(run_in_process(deploy.main, other, "--yes", capsys=capsys))
    second = benchmark(other, tmp_path / "b", "--concurrency 1,4 --requests 4 --input-tokens 32")
    assert second["target"]["instance_type"] == "ml.g6e.xlarge"
    files = f"{tmp_path / 'a.json'} {tmp_path / 'b.json'}"

    levels = [(name, level) for name, doc in (("a.json", first), ("b.json", second)) for level in doc["levels"]]
    loose = max(level["itl_ms"]["p99"] for _, level in levels) + 1
    best_name, best = min(levels, key=lambda item: item[1]["usd_per_million_output_tokens"])
    compared = ok(run_make("benchmark-compare", deployed, f"ARGS={files} --slo-itl-ms {loose:.0f}"))
    assert f"Cheapest meeting ITL p99 <= {loose:.0f} ms: {best_name}" in compared.stdout
    assert f"at concurrency {best['concurrency']}" in compared.stdout
    assert "[EMULATED" in compared.stdout

    nothing = ok(run_make("benchmark-compare", deployed, f"ARGS={files} --slo-ttft-ms 0.001"))
    assert "No configuration meets TTFT p99 <= 0.001 ms" in nothing.stdout


def test_without_the_timing_model_the_figures_still_say_emulated(deployed, tmp_path):
    document = benchmark(deployed, tmp_path / "plain", "--concurrency 2 --requests 2 --input-tokens 8")
    assert document["emulation"] == {"timing": "fixed-delay", "time_scale": 1.0}
    assert document["note"].startswith("EMULATED: the local emulator paced tokens at a fixed delay")
