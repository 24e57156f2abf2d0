"""Fixtures of the client tests: a scripted SageMaker over HTTP, and the environment pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client_fakes import FakeSageMaker


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMaker]:
    """A started fake; boto3 in this process (AWS_ENDPOINT_URL) talks to it."""
    server = FakeSageMaker().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    try:
        yield server
    finally:
        server.stop()
