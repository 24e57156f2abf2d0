"""The staging tests' world: bucket and model names, transfer sizes, a recorder of AWS calls with answers for
what moto lacks, a reporter, and staging as `make stage-model` does. A module of its own, so test modules
import it by name (not through `conftest`, which pytest resolves per directory)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from hub_server import MiB
from huggingface_hub import HfApi

from llm_engineering.aws import Aws
from llm_engineering.settings import Settings
from llm_engineering.weights.spec import StageSpec
from llm_engineering.weights.stage import StageResult, TransferOptions, prepare, run

BUCKET = "llm-engineering-test-models"
TINY = "tests/tiny-chat"
GATED = "tests/gated-chat"
TOKEN = "hf_test_approved_token"
SMALL = TransferOptions(threshold=5 * MiB, part_size=5 * MiB, concurrency=2)
"""Multipart from 5 MiB (S3's smallest part), so a test file of a few MiB goes up in several parts."""


CANNED: dict[str, dict[str, Any]] = {
    "SimulatePrincipalPolicy": {"EvaluationResults": [{"EvalActionName": "iam:PassRole", "EvalDecision": "allowed"}]},
    "ListServiceQuotas": {
        "Quotas": [{"QuotaName": "ml.g5.2xlarge for endpoint usage", "QuotaCode": "L-1", "Value": 2.0}]
    },
}


@dataclass
class Recorded:
    """Every AWS call of the sessions `llm_engineering.aws` opens: (service, operation, params)."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def attach(self, session: Any) -> None:
        def record(model: Any, params: dict[str, Any], **_: Any) -> None:
            self.calls.append((model.service_model.service_id.hyphenize(), model.name, dict(params)))

        def answer(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            """What moto lacks for preflight: PassRole allowed, a quota of 2 instances."""
            parsed = CANNED.get(model.name)
            if parsed is None:
                return None
            return AWSResponse("https://aws.invalid", 200, {}, None), {**parsed, "ResponseMetadata": {}}

        session.register("before-parameter-build.*.*", record)
        session.register("before-call.*.*", answer)

    def operations(self, service: str = "s3") -> list[str]:
        return [operation for name, operation, _ in self.calls if name == service]

    def writes(self) -> list[tuple[str, dict[str, Any]]]:
        """S3 calls that change something, in order."""
        reads = ("Get", "Head", "List")
        return [
            (operation, params)
            for name, operation, params in self.calls
            if name == "s3" and not operation.startswith(reads)
        ]


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
