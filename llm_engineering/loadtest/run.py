"""A whole benchmark: the endpoint checked, the sweep run level by level, the results as one JSON document.

The streams go through `InferenceClient` (the client of `python test.py`), on a runtime client whose
connection pool holds the highest concurrency (botocore keeps 10 connections by default, which would queue
streams in the client and be measured as the endpoint's latency).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.config import Config
from pydantic import SecretStr

from llm_engineering.aws import Aws
from llm_engineering.inference.client import InferenceClient, fail_fast_on_read_timeouts
from llm_engineering.inference.parameters import GenerationParameters
from llm_engineering.loadtest.load import LevelRun, Progress, run_level
from llm_engineering.loadtest.spec import BenchmarkSpec, TargetSpec
from llm_engineering.loadtest.stats import Emulation, summarize
from llm_engineering.loadtest.target import Target, describe_target, with_roofline

SCHEMA = "llm-engineering-benchmark/1"
EMULATED_NOTES = {
    "roofline": "EMULATED: figures from the local emulator's timing model, not from a GPU",
    "fixed-delay": "EMULATED: the local emulator paced tokens at a fixed delay; the figures say nothing about a GPU",
}


@dataclass
class Bench:
    """A ready run: the checked target and a client for it."""

    spec: BenchmarkSpec
    target: Target
    client: InferenceClient
    params: GenerationParameters


def prepare(aws: Aws, target_spec: TargetSpec, spec: BenchmarkSpec) -> Bench:
    """Check the endpoint (and component) is InService, read its fleet, model and roofline; no request sent."""
    sagemaker = aws.client("sagemaker")
    target = describe_target(sagemaker, target_spec.endpoint_name, target_spec.component_name)
    target = _with_hub_roofline(target, target_spec.hub_token)
    base = aws.client("sagemaker-runtime", read_timeout=target_spec.read_timeout)
    pool = Config(max_pool_connections=max(10, spec.levels[-1] + 2))
    runtime = aws.session.create_client("sagemaker-runtime", config=base.meta.config.merge(pool))
    fail_fast_on_read_timeouts(runtime)
    client = InferenceClient(
        runtime=runtime,
        endpoint_name=target.endpoint_name,
        component_name=target.component_name,
        control=lambda: sagemaker,
        read_timeout=target_spec.read_timeout,
        engine=target.engine or target_spec.engine,
        engine_confirmed=target.engine is not None,
    )
    params = target_spec.params.updated({"max_new_tokens": spec.max_new_tokens})
    return Bench(spec, target, client, params)


def _with_hub_roofline(target: Target, token: SecretStr | None) -> Target:
    """The roofline from the Hub's parameter counts of the served model (as preflight reads them)."""
    if not target.model_id:
        return with_roofline(target, None, None)
    # deferred: huggingface_hub costs about 0.3 s to import, and only a run that knows its model asks the Hub
    from huggingface_hub import HfApi

    from llm_engineering.hub.models import look_up
    from llm_engineering.hub.tokens import hub_token

    lookup = look_up(HfApi(), target.model_id, None, hub_token(token))
    model = lookup.model
    return with_roofline(target, model.parameters if model else None, model.config if model else None)


LevelStart = Callable[[int], Progress | None]
"""Called as each level starts with its concurrency; returns that level's progress callback."""


def run(bench: Bench, on_level: LevelStart | None = None) -> dict[str, Any]:
    """Every level of the sweep, then the results document."""
    spec = bench.spec
    runs: list[LevelRun] = []
    for level in spec.levels:
        progress = on_level(level) if on_level is not None else None
        runs.append(run_level(_starter(bench), spec.prompts, level, spec.requests, spec.duration, progress))
    return results(bench, runs)


def _starter(bench: Bench) -> Callable[[str], Any]:
    return lambda prompt: bench.client.stream_text(prompt, bench.params)


def results(bench: Bench, runs: list[LevelRun], now: datetime | None = None) -> dict[str, Any]:
    """The JSON document: what ran where, each level's figures, the roofline ratio, emulated or not."""
    emulation = Emulation.of([sample for level in runs for sample in level.samples])
    scale = emulation.scale if emulation and emulation.timing == "roofline" else 1.0
    levels = [summarize(level, scale, bench.target.cost) for level in runs]
    single = next((level for level in levels if level["concurrency"] == 1), None)
    measured = single["decode_tokens_per_second_p50"] if single else None
    roofline = bench.target.roofline_tokens_per_second
    spec = bench.spec
    return {
        "schema": SCHEMA,
        "created": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "emulated": emulation is not None,
        "emulation": emulation.as_dict() if emulation else None,
        "note": _note(emulation),
        "target": bench.target.as_dict(),
        "label": bench.target.label,
        "workload": {
            "concurrency": list(spec.levels),
            "requests_per_level": spec.requests,
            "duration_seconds": spec.duration,
            "prompts": spec.prompt_source,
            "prompt_count": len(spec.prompts),
            "max_new_tokens": spec.max_new_tokens,
        },
        "single_stream": {
            "decode_tokens_per_second": measured,
            "roofline_tokens_per_second": round(roofline, 2) if roofline else None,
            "ratio_to_roofline": round(measured / roofline, 3) if measured and roofline else None,
        },
        "harness": _harness(levels),
        "levels": levels,
    }


def _note(emulation: Emulation | None) -> str:
    if emulation is None:
        return "measured against the live endpoint"
    return EMULATED_NOTES.get(emulation.timing, f"EMULATED ({emulation.timing}): not measured on a GPU")


def _harness(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """The harness's own cost at the highest concurrency run (real CPU time, never scaled)."""
    top = max(levels, key=lambda level: level["concurrency"], default=None)
    if top is None:
        return {}
    return {"concurrency": top["concurrency"], **top["harness"]}


def write_json(document: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
