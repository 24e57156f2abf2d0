"""Fixtures of the autoscaling tests: the emulator (reset) with a role, and a deploy through the library."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from scaling_factories import FAST, spec_of

from llm_engineering.aws import Aws, connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import Plan, build_plan
from llm_engineering.hosting.waiting import silent
from llm_engineering.local.server import configure


@pytest.fixture
def emulator(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test run's emulator, reset, with the execution role and quick transitions; yields its URL."""
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}"
    )
    configure(server_env["AWS_ENDPOINT_URL"], transition_seconds=0.1)
    yield server_env["AWS_ENDPOINT_URL"]


@pytest.fixture
def deploy(emulator: str) -> Callable[..., tuple[Aws, Plan]]:
    """Deploy with the given settings through observe, plan and apply (what `make deploy-inference-endpoint` does)."""

    def run(**values: object) -> tuple[Aws, Plan]:
        aws = connect(region="us-east-1")
        spec = spec_of(**values)
        plan = build_plan(spec, observe(spec, aws))
        Applier(aws, spec, silent, FAST).apply(plan)
        return aws, plan

    return run
