"""Which configuration meets a latency target for the least money: over the result files of several runs.

A level meets the SLO when its TTFT and/or ITL at the chosen percentile are at or under the targets and none
of its requests failed; among those, the cheapest per million output tokens wins (ties: higher throughput).
Runs against the emulator are labelled so in every line that names them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_engineering.loadtest.run import SCHEMA
from llm_engineering.loadtest.spec import BenchmarkInputError
from llm_engineering.loadtest.stats import PERCENTILES


@dataclass(frozen=True)
class Slo:
    """Latency targets at one percentile; None: no target for that figure."""

    ttft_ms: float | None
    itl_ms: float | None
    percentile: int = 99

    def __post_init__(self) -> None:
        if self.percentile not in PERCENTILES:
            choices = ", ".join(str(q) for q in PERCENTILES)
            raise BenchmarkInputError(f"--percentile {self.percentile} is not reported: choose one of {choices}.")
        for name, value in (("--slo-ttft-ms", self.ttft_ms), ("--slo-itl-ms", self.itl_ms)):
            if value is not None and not value > 0:
                raise BenchmarkInputError(f"{name} {value:g} must be more than 0 milliseconds.")

    @property
    def given(self) -> bool:
        return self.ttft_ms is not None or self.itl_ms is not None

    def text(self) -> str:
        parts = [f"TTFT p{self.percentile} <= {self.ttft_ms:g} ms"] if self.ttft_ms is not None else []
        parts += [f"ITL p{self.percentile} <= {self.itl_ms:g} ms"] if self.itl_ms is not None else []
        return " and ".join(parts)

    def met_by(self, level: dict[str, Any]) -> bool:
        key = f"p{self.percentile}"
        for target, figure in ((self.ttft_ms, level["ttft_ms"].get(key)), (self.itl_ms, level["itl_ms"].get(key))):
            if target is not None and (figure is None or figure > target):
                return False
        return level["errors"] == 0 and level["completed"] > 0


@dataclass(frozen=True)
class Choice:
    name: str
    document: dict[str, Any]
    level: dict[str, Any]

    def text(self) -> str:
        level, document = self.level, self.document
        cost = level["usd_per_million_output_tokens"]
        price = f"USD {cost:.2f} per million output tokens" if cost is not None else "price unknown"
        marker = " [EMULATED figures]" if document.get("emulated") else ""
        return (
            f"{self.name} ({document.get('label', '?')}) at concurrency {level['concurrency']}: {price}, "
            f"{level['output_tokens_per_second']:.1f} output tokens/s{marker}"
        )


def load_results(paths: Sequence[Path]) -> list[tuple[str, dict[str, Any]]]:
    """The result files, each checked to be one this tool wrote; BenchmarkInputError names the bad one."""
    if len(paths) < 2:
        raise BenchmarkInputError("benchmark-compare needs two or more result files (benchmarks/results/*.json).")
    loaded = []
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            message = f"{path} cannot be read ({error.strerror}): pass result files of `make benchmark`."
            raise BenchmarkInputError(message) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BenchmarkInputError(f"{path} is not JSON: pass result files of `make benchmark`.") from None
        if not isinstance(document, dict) or document.get("schema") != SCHEMA or not document.get("levels"):
            raise BenchmarkInputError(f"{path} is not a result of `make benchmark` (schema {SCHEMA}).")
        loaded.append((path.name, document))
    return loaded


def cheapest(documents: Sequence[tuple[str, dict[str, Any]]], slo: Slo) -> Choice | None:
    """The cheapest level (per million output tokens) of any run that meets `slo`; None when none does."""
    meeting = [
        Choice(name, document, level)
        for name, document in documents
        for level in document["levels"]
        if slo.met_by(level)
    ]
    priced = [choice for choice in meeting if choice.level["usd_per_million_output_tokens"] is not None]
    pool = priced or meeting
    if not pool:
        return None
    return min(
        pool,
        key=lambda choice: (
            choice.level["usd_per_million_output_tokens"] or 0.0,
            -choice.level["output_tokens_per_second"],
        ),
    )
