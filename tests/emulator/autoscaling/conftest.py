"""Fixtures of the autoscaling tests: a deploy through the library (on the shared `emulator` fixture)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scaling_factories import FAST, spec_of

from llm_engineering.aws import Aws, connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import Plan, build_plan
from llm_engineering.resources.waiting import silent


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
