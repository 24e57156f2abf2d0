"""Starting and stopping the emulator: the command line, the env file, signals, and the Python API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from helpers import clean_environment
from werkzeug.test import Client

from llm_engineering.local import Emulator, EmulatorError, get_config, sagemaker
from llm_engineering.local.__main__ import config_from, parse_args
from llm_engineering.local.faults import CONFIG_VARIABLE, EmulatorConfigError
from llm_engineering.local.server import EmulatorApp


def start(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], Path]:
    env_file = home / "emulator.env"
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_engineering.local", "--env-file", str(env_file), *args],
        env=env or clean_environment(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120  # a hang guard: starting takes seconds, more on a busy machine
    while not env_file.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return process, env_file


def test_the_command_prints_and_writes_the_environment_then_stops_on_sigterm(offline_env: Path) -> None:
    process, env_file = start(offline_env, "--region", "eu-west-1")
    lines = env_file.read_text().splitlines()
    url = lines[0].removeprefix("export AWS_ENDPOINT_URL=")
    identity = boto3.client(
        "sts", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y"
    ).get_caller_identity()

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=10)

    assert lines == [
        f"export AWS_ENDPOINT_URL={url}",
        "export AWS_ACCESS_KEY_ID=testing",
        "export AWS_SECRET_ACCESS_KEY=testing",
        "export AWS_REGION=eu-west-1",
        f"export HF_ENDPOINT={url}/_hub",
    ]
    assert url.startswith("http://127.0.0.1:")
    assert identity["Account"] == "123456789012"
    assert process.returncode == 0
    assert stdout.splitlines()[1:] == lines
    assert stderr == ""
    assert not env_file.exists()


def test_the_command_stops_on_sigint_too(offline_env: Path) -> None:
    process, env_file = start(offline_env)

    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)

    assert process.returncode == 0
    assert not env_file.exists()


def test_flags_file_and_environment_make_the_start_configuration(offline_env: Path) -> None:
    config_file = offline_env / "faults.json"
    config_file.write_text(json.dumps({"quotas": {"ml.g5.2xlarge": 0}, "default_quota": 7}))
    env = clean_environment(offline_env)
    env[CONFIG_VARIABLE] = json.dumps({"throttle_seed": 9, "default_quota": 1})
    args = ["--config", str(config_file), "--fail-health", "my-endpoint=oom", "--quota", "ml.g6.xlarge=3"]
    process, env_file = start(offline_env, *args, "--transition-seconds", "0.5", env=env)
    try:
        url = env_file.read_text().splitlines()[0].removeprefix("export AWS_ENDPOINT_URL=")
        config = get_config(url)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)

    assert config["quotas"] == {"ml.g5.2xlarge": 0, "ml.g6.xlarge": 3}
    assert config["default_quota"] == 7
    assert config["throttle_seed"] == 9
    assert config["health_check_failures"] == {"my-endpoint": "oom"}
    assert config["transition_seconds"] == 0.5


def test_config_from_lets_flags_win_over_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "faults.json"
    config_file.write_text(json.dumps({"transition_seconds": 5, "health_check_failures": {"a": "gated"}}))
    monkeypatch.setenv(CONFIG_VARIABLE, json.dumps({"transition_seconds": 9, "token_delay_seconds": 0.5}))

    config = config_from(
        parse_args(["--config", str(config_file), "--transition-seconds", "1", "--fail-health", "b=timeout"])
    )

    assert (config.transition_seconds, config.token_delay_seconds) == (1.0, 0.5)
    assert config.health_check_failures == {"a": "gated", "b": "timeout"}
    monkeypatch.setenv(CONFIG_VARIABLE, "[1]")
    with pytest.raises(EmulatorConfigError, match="must hold a JSON object"):
        config_from(parse_args([]))


def test_the_python_api_runs_in_process_and_restores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)

    with Emulator(config={"transition_seconds": 0.1}) as emulator:
        during = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
        emulator.configure(default_quota=4)
        config = get_config(emulator.url)
        iam = boto3.client("iam", endpoint_url=emulator.url, region_name="us-east-1")
        policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/CloudWatchLogsFullAccess")["Policy"]
        emulator.reset()
        after_reset = emulator.config.default_quota

    assert during == "true"
    assert (config["transition_seconds"], config["default_quota"]) == (0.1, 4)
    assert policy["PolicyName"] == "CloudWatchLogsFullAccess"
    assert after_reset == 2
    assert "MOTO_IAM_LOAD_MANAGED_POLICIES" not in os.environ
    with pytest.raises(EmulatorError, match="not running"):
        _ = emulator.url


def test_a_busy_port_is_one_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(EmulatorError) as excinfo:
            Emulator(port=port).start()

    assert str(excinfo.value) == (
        f"Cannot listen on 127.0.0.1:{port} (Address already in use): choose another port with --port, "
        "or 0 for a free one."
    )


def test_a_bug_in_the_emulator_is_an_internal_failure_not_a_dropped_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(backend: object, params: object) -> dict[str, object]:
        raise KeyError("boom")

    monkeypatch.setitem(sagemaker.OPERATIONS, "ListEndpoints", broken)
    client = Client(EmulatorApp(moto_app=lambda environ, start_response: []))

    answer = client.post(
        "/",
        data=b"{}",
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sagemaker/aws4_request, x",
            "X-Amz-Target": "SageMaker.ListEndpoints",
        },
    )

    assert answer.status_code == 500
    assert json.loads(answer.get_data()) == {
        "__type": "InternalFailure",
        "message": "The emulator failed: KeyError: 'boom'",
    }
    assert "The emulator failed on POST /" in caplog.text


def test_an_api_nobody_emulates_is_an_aws_error_not_a_traceback(server_env: dict[str, str]) -> None:
    iam = boto3.client("iam", endpoint_url=server_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    with pytest.raises(ClientError) as refused:
        # (IAM's access advisor, which served as the example, is emulated now: local/access_advisor.py)
        iam.generate_organizations_access_report(EntityPath="o-a1b2c3d4e5/r-ab12")
    assert refused.value.response["Error"]["Code"] == "NotImplemented"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
