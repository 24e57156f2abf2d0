"""Fixtures for staging: in-process moto S3 (every call recorded), the emulator's Hub on 127.0.0.1 with test
models (see staging_world for the names and helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import huggingface_hub.constants
import pytest
from aws_recorder import AwsRecorder
from hub_server import catalogue, pytorch_only_model, serve_hub, tiny_model
from staging_world import GATED, TINY, TOKEN

from llm_engineering.aws import Aws, connect


@pytest.fixture
def recorded(moto_aws, aws_recorder) -> AwsRecorder:
    """Every call recorded, on moto; what moto lacks for preflight answered: PassRole allowed, a quota of 2."""
    aws_recorder.quota(2.0)
    aws_recorder.pass_role("allowed")
    return aws_recorder


@pytest.fixture
def aws(recorded) -> Aws:
    return connect("us-east-1")


@pytest.fixture
def hub(monkeypatch) -> Iterator[str]:
    """The Hub with the built-in catalogue and the test models, online."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    models = catalogue(
        tiny_model(TINY, big_mib=11),
        tiny_model(GATED, gated="auto", readers=frozenset({TOKEN})),
        pytorch_only_model(),
    )
    with serve_hub(models) as url:
        yield url
