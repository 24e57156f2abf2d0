"""Shared fixtures: every test runs offline, with dummy AWS credentials and no user configuration."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import botocore.loaders
import botocore.session
import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))  # the tests' shared helpers, importable by name

from aws_recorder import AwsRecorder
from client_fakes import FakeSageMaker
from helpers import IMAGE_PULL, clean_environment
from hub_server import HubServer
from moto import mock_aws

from llm_engineering.catalogue.instances import hosting_instance_types

LAYERS = ("unit", "emulator", "e2e")
"""tests/unit: no subprocess and no emulator (in-process moto, fakes on 127.0.0.1 threads); tests/emulator: the
session's emulator, in this process; tests/e2e: Make targets, scripts and the emulator command as processes.
Each test gets the marker of its folder: `make test ARGS="-m unit"` is the quick loop."""
FIRST = "tests/e2e/test_demo.py"
"""The longest test: it starts first, so that the others fill the workers around it."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its layer (its folder under tests/), refuse a unit test that uses the emulator, and
    run the slow layers first (e2e, emulator, unit; the demo before all), in the same order on every worker."""
    root = Path(__file__).parent
    rank = {}
    for index, item in enumerate(items):
        layer = item.path.relative_to(root).parts[0]
        if layer not in LAYERS:
            raise pytest.UsageError(f"{item.nodeid}: every test lives under tests/unit, tests/emulator or tests/e2e")
        if layer == "unit" and "aws_server" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} uses the emulator: it belongs in tests/emulator")
        item.add_marker(getattr(pytest.mark, layer))
        first = not item.nodeid.startswith(FIRST)
        rank[item.nodeid] = (first, -LAYERS.index(layer), index)
    items.sort(key=lambda item: rank[item.nodeid])


@pytest.fixture(autouse=True)
def no_process_in_unit_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test starts no process: one that tries fails at once, and belongs in tests/e2e."""
    if request.node.get_closest_marker("unit") is None:
        return
    import subprocess

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a unit test started a process ({args[0] if args else kwargs}): move it to tests/e2e")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


_LOADER = botocore.loaders.create_loader()


@pytest.fixture(autouse=True)
def parsed_service_models_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every boto3 session (each `connect()`, each script run, moto's own) opens a loader that parses the same
    service JSON files again, half of an in-process test's time: share one (same files, same answers)."""
    monkeypatch.setattr(botocore.session, "create_loader", lambda *args, **kwargs: _LOADER)


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
        deadline = time.monotonic() + 120  # a hang guard: starting takes seconds, more on a busy machine
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


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMaker]:
    """A scripted SageMaker over HTTP (`client_fakes`), started; boto3 in this process (AWS_ENDPOINT_URL) talks
    to it."""
    server = FakeSageMaker().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The Hub (`hub_server.HubServer`, empty, knowing only the tokens of its models) on 127.0.0.1, which
    huggingface_hub uses by default (as HF_ENDPOINT would make it), online."""
    import huggingface_hub.constants

    hub = HubServer(tokens=set()).start()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(
        huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def aws_recorder(monkeypatch: pytest.MonkeyPatch) -> AwsRecorder:
    """Every request of the sessions `llm_engineering.aws` opens, recorded (`aws_recorder.AwsRecorder`), with
    the answers a test sets for what moto lacks; other hooks a test adds go beside it in SESSION_OBSERVERS."""
    from llm_engineering import aws as aws_module

    recorder = AwsRecorder()
    monkeypatch.setattr(aws_module, "SESSION_OBSERVERS", [recorder.attach])
    return recorder


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
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(  # the emulated SageMaker pulls images as the role, as SageMaker does
        RoleName="SageMakerExecutionRoleLLM", PolicyName="pull", PolicyDocument=json.dumps(IMAGE_PULL)
    )
    configure(server_env["AWS_ENDPOINT_URL"], transition_seconds=0.1)
    yield server_env["AWS_ENDPOINT_URL"]
