"""Fixtures for staging: in-process moto S3 (every call recorded), the emulator's Hub on 127.0.0.1 with test
models (see staging_world for the names and helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import huggingface_hub.constants
import pytest
from hub_server import catalogue, pytorch_only_model, serve_hub, tiny_model
from staging_world import GATED, TINY, TOKEN, Recorded

from llm_engineering import aws as aws_module
from llm_engineering.aws import Aws, connect


@pytest.fixture
def recorded(moto_aws, monkeypatch) -> Recorded:
    calls = Recorded()
    monkeypatch.setattr(aws_module, "SESSION_OBSERVERS", [calls.attach])
    return calls


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
