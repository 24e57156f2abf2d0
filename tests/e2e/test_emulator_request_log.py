"""The request log: `python -m llm_engineering.local --log-requests` (and `make emulator`) prints one line per
AWS request, naming its service, operation, resource, status code and duration."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import REPO, clean_environment
from werkzeug.test import Client

from llm_engineering.local.request_log import RequestRecord
from llm_engineering.local.server import EmulatorApp

LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\d{3})\s+([\d.]+) ms$")


def _start(command: list[str], home: Path) -> tuple[subprocess.Popen[str], str, Path]:
    env_file = home / "emulator.env"
    output = home / "stdout"
    process = subprocess.Popen(
        [*command],
        cwd=REPO,
        env=clean_environment(home),
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make and its child stop together
    )
    deadline = time.monotonic() + 60
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the emulator did not start: {output.read_text()}")
        time.sleep(0.05)
    exports = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
    return process, exports["AWS_ENDPOINT_URL"], output


def _stop(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _client(url: str, service: str) -> object:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def _requests(url: str) -> None:
    sagemaker = _client(url, "sagemaker")
    sagemaker.list_endpoints()
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint(EndpointName="missing-endpoint")
    _client(url, "iam").create_role(RoleName="logged-role", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    with pytest.raises(ClientError):
        _client(url, "sagemaker-runtime").invoke_endpoint(EndpointName="missing-endpoint", Body=b"{}")


def _logged_lines(output: Path, count: int) -> list[tuple[str, ...]]:
    deadline = time.monotonic() + 10
    while True:
        lines = [LINE.match(line) for line in output.read_text().splitlines()]
        found = [match.groups() for match in lines if match]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


EXPECTED = [
    ("sagemaker", "ListEndpoints", "-", "200"),
    ("sagemaker", "DescribeEndpoint", "missing-endpoint", "400"),
    ("iam", "CreateRole", "logged-role", "200"),
    ("sagemaker-runtime", "InvokeEndpoint", "missing-endpoint", "400"),
]


@pytest.fixture
def home(offline_env: Path) -> Path:
    """The test's own home directory (clean environment, no AWS files)."""
    return offline_env


def test_log_requests_prints_one_line_per_request(home: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "llm_engineering.local",
        "--log-requests",
        "--env-file",
        str(home / "emulator.env"),
    ]
    process, url, output = _start(command, home)
    try:
        _requests(url)
        found = _logged_lines(output, len(EXPECTED))
    finally:
        _stop(process)
    assert [row[:4] for row in found] == EXPECTED, output.read_text()
    assert all(float(row[4]) >= 0 for row in found)


def test_make_emulator_passes_log_requests_through(home: Path) -> None:
    env_file = home / "emulator.env"
    process, url, output = _start(["make", "-s", "emulator", f"ARGS=--log-requests --env-file {env_file}"], home)
    try:
        _client(url, "sagemaker").list_endpoints()
        found = _logged_lines(output, 1)
    finally:
        _stop(process)
    assert [row[:4] for row in found] == [EXPECTED[0]], output.read_text()


def test_without_the_flag_nothing_is_logged(home: Path) -> None:
    command = [sys.executable, "-m", "llm_engineering.local", "--env-file", str(home / "emulator.env")]
    process, url, output = _start(command, home)
    try:
        _client(url, "sagemaker").list_endpoints()
    finally:
        _stop(process)
    assert [line for line in output.read_text().splitlines() if LINE.match(line)] == []


def test_a_streamed_answer_is_logged_once_it_has_been_sent() -> None:
    records: list[RequestRecord] = []

    def moto(environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])  # type: ignore[operator]
        return [b"{", b"}"]

    client = Client(EmulatorApp(moto_app=moto, request_log=records.append))
    answer = client.post(
        "/",
        data="Action=GetRole&RoleName=some-role&Version=2010-05-08",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, x"},
        buffered=False,
    )
    assert records == []  # the body has not been read yet
    assert answer.get_data() == b"{}"
    answer.close()
    assert [(r.service, r.operation, r.resource, r.status) for r in records] == [("iam", "GetRole", "some-role", 200)]
