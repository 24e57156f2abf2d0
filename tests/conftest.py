"""Shared fixtures: every test runs offline, with dummy AWS credentials and no user configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))  # the tests' shared helpers, importable by name

from helpers import clean_environment
from moto import mock_aws

from llm_engineering.hosting.instances import hosting_instance_types


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


@pytest.fixture(autouse=True)
def no_real_hub_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub's default endpoint is a closed local port in every test: nothing reaches huggingface.co,
    whatever a test forgets (tests that want a Hub pass the emulated one's URL explicitly or through HF_ENDPOINT)."""
    import huggingface_hub.constants

    dead = "http://127.0.0.1:9"
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", dead)
    monkeypatch.setattr(
        huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}"
    )


@pytest.fixture(scope="session")
def aws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local AWS emulator (moto + SageMaker extensions) for the whole session; yields its URL.

    It runs as `python -m llm_engineering.local`, as `make demo` runs it, in its own process: no state
    shared with in-process `mock_aws` tests. Transitions take 0.2 s and tokens stream without delay.
    """
    import signal
    import subprocess
    import sys
    import time

    home = tmp_path_factory.mktemp("emulator")
    env_file = home / "emulator.env"
    log = (home / "emulator.log").open("w")
    command = [sys.executable, "-m", "llm_engineering.local", "--port", "0", "--env-file", str(env_file)]
    command += ["--transition-seconds", "0.2", "--token-delay", "0"]
    process = subprocess.Popen(command, env=clean_environment(home), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start: {(home / 'emulator.log').read_text()}")
            time.sleep(0.02)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
        yield exports["AWS_ENDPOINT_URL"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def server_env(aws_server: str, offline_env: Path) -> Iterator[dict[str, str]]:
    """Environment for a subprocess that talks to the session's emulator, reset before each test.

    The reset empties moto's and the emulator's state and restores the emulator's start configuration.
    """
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{aws_server}/moto-api/reset", method="POST")).close()
    env = clean_environment(offline_env)
    env["AWS_ENDPOINT_URL"] = aws_server
    yield env


def _validate_against_botocore(_self: object, instance_type: str) -> None:
    if instance_type not in hosting_instance_types():
        raise ValueError(f"{instance_type} is not a ProductionVariantInstanceType")


@pytest.fixture
def moto_aws(offline_env: Path) -> Iterator[None]:
    """In-process moto for every AWS call. Its CreateEndpointConfig knows only an old list of instance types
    (no ml.g5): endpoint configs accept what botocore's service model accepts instead."""
    with (
        mock_aws(),
        mock.patch("moto.sagemaker.models.FakeEndpointConfig.validate_instance_type", _validate_against_botocore),
    ):
        yield


@pytest.fixture
def emulator(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process pointed at the run's emulator (reset), with the execution role and quick transitions."""
    import boto3

    from llm_engineering.local.server import configure

    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}"
    )
    configure(server_env["AWS_ENDPOINT_URL"], transition_seconds=0.1)
    yield server_env["AWS_ENDPOINT_URL"]
