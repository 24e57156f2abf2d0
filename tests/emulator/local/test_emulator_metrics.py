"""The emulator publishes the metrics SageMaker publishes: per invocation, and utilization from a sampler."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from datetime import datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from emulator_clients import Aws
from helpers import REPO

from llm_engineering.hosting.metrics import endpoint_metrics, fetch_metrics
from llm_engineering.local.metrics import percentile
from llm_engineering.local.server import advance_clock


def _invoke(aws: Aws, body: dict, component: str | None = None) -> None:
    extra = {"InferenceComponentName": component} if component else {}
    aws.runtime.invoke_endpoint(EndpointName="endpoint", Body=json.dumps(body), ContentType="application/json", **extra)


def _emulated_now(url: str) -> datetime:
    with urllib.request.urlopen(f"{url}/_emulator/clock") as answer:
        return datetime.fromisoformat(json.loads(answer.read())["now"])


def _summaries(aws: Aws, variants: list[str], components: list[str]) -> dict[str, dict]:
    metrics = endpoint_metrics("endpoint", variants, components)
    report = fetch_metrics(
        aws.client("cloudwatch"), "endpoint", metrics, timedelta(minutes=30), period=60, now=_emulated_now(aws.url)
    )
    return {f"{item.metric.namespace} {item.metric.name} {item.metric.stat}": item.summary() for item in report.series}


def test_invocations_errors_and_latencies_per_variant(aws, server_env):
    aws.deploy()
    for _ in range(3):
        _invoke(aws, {"inputs": "What is the capital of France?", "parameters": {"max_new_tokens": 8}})
    with pytest.raises(ClientError, match="ModelError"):
        _invoke(aws, {"inputs": "hi", "parameters": {"temperature": -1}})
    found = _summaries(aws, ["AllTraffic"], [])
    assert found["AWS/SageMaker Invocations Sum"]["latest"] == 4
    assert found["AWS/SageMaker Invocation4XXErrors Sum"]["latest"] == 1
    assert found["AWS/SageMaker Invocation5XXErrors Sum"]["latest"] == 0
    assert found["AWS/SageMaker ModelLatency p99"]["latest"] > 0
    assert found["AWS/SageMaker ConcurrentRequestsPerModel Maximum"]["latest"] == 1


def test_sampler_publishes_utilization_of_running_variants_and_components(aws, server_env):
    aws.deploy_components()
    _invoke(aws, {"inputs": "hi", "parameters": {"max_new_tokens": 4}}, component="component")
    advance_clock(aws.url, 10)
    found = _summaries(aws, ["AllTraffic"], ["component"])
    assert found["AWS/SageMaker Invocations Sum"]["latest"] == 1
    assert found["AWS/SageMaker ConcurrentRequestsPerCopy Maximum"]["latest"] == 1
    assert 0 < found["/aws/sagemaker/Endpoints GPUUtilization Average"]["latest"] <= 100
    assert found["/aws/sagemaker/Endpoints GPUMemoryUtilization Average"]["latest"] > 50
    assert found["/aws/sagemaker/InferenceComponents GPUUtilizationNormalized Average"]["latest"] > 0


def test_percentiles_are_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile([5, 1, 3, 2, 4], 99) == 5
    assert percentile([], 50) is None


def _make_metrics(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = ["make", "-s", "--no-print-directory", "-C", str(REPO), "metrics", "ENDPOINT_NAME=endpoint", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("--since 3x", "--since='3x' is invalid"),
        ("--since 30d --period 1m", "beyond CloudWatch's retention for --period=1m"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(server_env, args, message):
    result = _make_metrics({**os.environ, **server_env}, f"ARGS={args}")
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("make")]  # make's "Error 2"
    assert line.startswith("error: ") and message in line


def test_an_endpoint_that_does_not_exist_is_named(server_env):
    result = _make_metrics({**os.environ, **server_env})
    assert result.returncode == 2
    assert "ENDPOINT_NAME='endpoint': no such endpoint in us-east-1" in result.stderr
