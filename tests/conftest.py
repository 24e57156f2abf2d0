"""Shared fixtures: every test runs offline, with dummy AWS credentials and no user configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import clean_environment, free_port


@pytest.fixture(autouse=True)
def offline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate every test: clean environment, dummy credentials, and a working directory without .env."""
    home = tmp_path / "home"
    home.mkdir()
    env = clean_environment(home)
    for key in list(os.environ):
        if key not in env:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="session")
def aws_server() -> Iterator[str]:
    """A moto server on a free 127.0.0.1 port for the whole session; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def server_env(aws_server: str, offline_env: Path) -> Iterator[dict[str, str]]:
    """Environment for a subprocess that talks to the session's server, reset before each test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{aws_server}/moto-api/reset", method="POST")).close()
    env = clean_environment(offline_env)
    env["AWS_ENDPOINT_URL"] = aws_server
    yield env
