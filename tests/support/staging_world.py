"""The staging tests' world: bucket and model names, transfer sizes, a reporter, and staging as
`make stage-model` does (AWS calls are recorded by `aws_recorder`). A module of its own, so test modules
import it by name (not through `conftest`, which pytest resolves per directory)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub_server import MiB
from huggingface_hub import HfApi

from llm_engineering.aws import Aws
from llm_engineering.settings import Settings
from llm_engineering.weights.spec import StageSpec
from llm_engineering.weights.transfer import StageResult, TransferOptions, prepare, run

BUCKET = "llm-engineering-test-models"
TINY = "tests/tiny-chat"
GATED = "tests/gated-chat"
TOKEN = "hf_test_approved_token"
SMALL = TransferOptions(threshold=5 * MiB, part_size=5 * MiB, concurrency=2)
"""Multipart from 5 MiB (S3's smallest part), so a test file of a few MiB goes up in several parts."""


@dataclass
class Lines:
    """A StageReporter that keeps what a console would show."""

    lines: list[str] = field(default_factory=list)
    uploaded_bytes: int = 0

    def begin_file(self, name: str, size: int, action: str) -> None:
        self.lines.append(f"{action} {name}")

    def advance(self, nbytes: int, *, upload: bool) -> None:
        if upload:
            self.uploaded_bytes += nbytes

    def end_file(self, name: str, outcome: str) -> None:
        self.lines.append(f"{outcome} {name}")


def stage_spec(**values: Any) -> StageSpec:
    settings = {"MODEL_S3_BUCKET": BUCKET, "HF_MODEL_ID": TINY, **values}
    return StageSpec.from_settings(Settings(**{key.lower(): value for key, value in settings.items()}))


def stage(
    aws: Aws, hub_url: str, spec: StageSpec | None = None, reporter: Any = None, options: TransferOptions = SMALL
) -> StageResult:
    spec = spec or stage_spec()
    plan = prepare(aws, HfApi(endpoint=hub_url), spec, options)
    return run(aws, plan, spec, options, reporter or Lines())
