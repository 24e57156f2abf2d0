"""make metrics against the emulator: the requests an endpoint served, as a table and as JSON with a chart."""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest
from emulator_clients import Aws
from helpers import REPO

from llm_engineering.local.server import configure


def _invoke(aws: Aws, body: dict, component: str | None = None) -> None:
    extra = {"InferenceComponentName": component} if component else {}
    aws.runtime.invoke_endpoint(EndpointName="endpoint", Body=json.dumps(body), ContentType="application/json", **extra)


def _make_metrics(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = ["make", "-s", "--no-print-directory", "-C", str(REPO), "metrics", "ENDPOINT_NAME=endpoint", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_make_metrics_shows_the_requests(aws_server, server_env, tmp_path):
    aws = Aws.on(aws_server)
    # `make metrics --since 30m` counts back from the real time: the deploy skips only its 0.2 s transition
    configure(aws.url, transition_seconds=0.2)
    aws.deploy()
    _invoke(aws, {"inputs": "hi", "parameters": {"max_new_tokens": 4}})
    env = {**os.environ, **server_env}
    shown = _make_metrics(env, "ARGS=--since 30m")
    assert shown.returncode == 0, shown.stderr
    [line] = [line for line in shown.stdout.splitlines() if "Invocations (AllTraffic)" in line]
    assert line.split()[2:6] == ["1", "1", "1", "1"]
    chart = tmp_path / "chart.png"
    as_json = _make_metrics(env, f"ARGS=--json --png {chart}")
    assert as_json.returncode == 0, as_json.stderr
    [invocations] = [m for m in json.loads(as_json.stdout)["metrics"] if m["metric"] == "Invocations"]
    assert invocations["latest"] == 1 and invocations["dimensions"] == {
        "EndpointName": "endpoint",
        "VariantName": "AllTraffic",
    }
    assert chart.stat().st_size > 10_000


def test_the_printed_aws_cli_commands_return_the_same_figures(aws_server, server_env):
    """`make metrics ARGS=--cli`: each printed command, run by the real AWS CLI against the emulator, gives the
    figures `--json` shows (CloudWatch's units: the JSON's milliseconds are its microseconds x 0.001)."""
    aws = Aws.on(aws_server)
    configure(aws.url, transition_seconds=0.2)
    aws.deploy()
    for _ in range(3):
        _invoke(aws, {"inputs": "hi", "parameters": {"max_new_tokens": 4}})
    env = {**os.environ, **server_env}
    shown = _make_metrics(env, "ARGS=--since 30m --cli")
    assert shown.returncode == 0, shown.stderr
    commands = [line.strip() for line in shown.stdout.splitlines() if line.strip().startswith("aws cloudwatch")]
    by_metric = {}
    for command in commands:
        words = shlex.split(command)
        assert "--dimensions" in words and "--period" in words and "--start-time" in words
        by_metric[(words[words.index("--metric-name") + 1], words[-1])] = command
    invocations = by_metric[("Invocations", "Sum")]
    assert "Name=EndpointName,Value=endpoint Name=VariantName,Value=AllTraffic" in invocations
    as_json = json.loads(_make_metrics(env, "ARGS=--since 30m --json").stdout)
    checked = 0
    for series in as_json["metrics"]:
        command = by_metric.get((series["metric"], series["stat"]))
        # moto's GetMetricStatistics answers no ExtendedStatistics (percentiles): those commands are checked for
        # their shape above only, until the emulator answers them
        if command is None or series["latest"] is None or series["stat"].startswith("p"):
            continue
        answer = subprocess.run(
            [*shlex.split(command), "--output", "json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert answer.returncode == 0, answer.stderr
        points = json.loads(answer.stdout)["Datapoints"]
        values = [point[series["stat"]] for point in points]
        scale = 0.001 if series["unit"] == "ms" else 1
        assert max(value * scale for value in values) == pytest.approx(series["max"]), series["metric"]
        checked += 1
    assert checked >= 3  # invocations, the overhead latency, concurrency at least
