"""make metrics against the emulator: the requests an endpoint served, as a table and as JSON with a chart."""

from __future__ import annotations

import json
import os
import subprocess

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
