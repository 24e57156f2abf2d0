"""ENDPOINT_TTL end to end: deploy with a time limit, watch status, move it, let the emulator's clock pass it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import client, create_execution_role, ok, run_make

from llm_engineering.local.server import advance_clock

ENDPOINT = "llm-engineering-endpoint"
GROUP = "llm-engineering"


@pytest.fixture
def env(server_env: dict[str, str], capsys) -> dict[str, str]:
    server_env = {**server_env, "WAIT_POLL_INTERVAL": "0.1"}
    create_execution_role(server_env, capsys)
    return server_env


def _schedule(env: dict[str, str], name: str) -> dict[str, Any]:
    return client(env, "scheduler").get_schedule(Name=name, GroupName=GROUP)


def _billing(env: dict[str, str]) -> list[str]:
    sagemaker = client(env, "sagemaker")
    found = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    return found + [c["InferenceComponentName"] for c in sagemaker.list_inference_components()["InferenceComponents"]]


def test_the_scheduler_role_may_only_delete_the_tools_endpoints(env):
    iam = client(env, "iam")
    role = iam.get_role(RoleName="SageMakerExecutionRoleLLM-ttl")["Role"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    [permission] = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="DeleteExpiredEndpoints")[
        "PolicyDocument"
    ]["Statement"]
    assert permission["Action"] == ["sagemaker:DeleteEndpoint", "sagemaker:DeleteInferenceComponent"]
    assert permission["Condition"] == {
        "StringEquals": {"aws:ResourceTag/llm-engineering:managed-by": "llm-engineering"}
    }
    ok(run_make("delete-sagemaker-execution-role", env))
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("SageMakerExecutionRoleLLM")]


def test_model_based_endpoint_deletes_itself_when_the_clock_passes_its_ttl(env):
    deployed = ok(run_make("deploy-inference-endpoint", {**env, "ENDPOINT_TTL": "2h"}, "ARGS=--yes"))
    assert "time limit     deletes itself at" in deployed.stdout and "about USD 3.04 by then" in deployed.stdout
    schedule = _schedule(env, f"{ENDPOINT}-ttl")
    assert schedule["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:deleteEndpoint"
    assert json.loads(schedule["Target"]["Input"]) == {"EndpointName": ENDPOINT}
    assert schedule["Target"]["RoleArn"].endswith(":role/SageMakerExecutionRoleLLM-ttl")
    assert schedule["ActionAfterCompletion"] == "DELETE"
    when = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    assert timedelta(minutes=119) < when - datetime.now(UTC) <= timedelta(hours=2)

    status = ok(run_make("status", env)).stdout
    assert "deletes itself at" in status and ("in 1h 59m" in status or "in 2h" in status)

    ok(run_make("extend-ttl", env, "TTL=5h"))
    moved = datetime.fromisoformat(_schedule(env, f"{ENDPOINT}-ttl")["ScheduleExpression"][3:-1])
    assert moved.replace(tzinfo=UTC) - datetime.now(UTC) > timedelta(hours=4, minutes=59)

    advance_clock(env["AWS_ENDPOINT_URL"], 3 * 3600)
    assert _billing(env) == [ENDPOINT]  # not yet: the limit moved to 5 h
    advance_clock(env["AWS_ENDPOINT_URL"], 2 * 3600 + 60)
    advance_clock(env["AWS_ENDPOINT_URL"], 1)  # Deleting -> gone
    assert _billing(env) == []
    assert client(env, "scheduler").list_schedules(GroupName=GROUP)["Schedules"] == []
    listed = ok(run_make("status", env)).stdout
    assert "nothing is billing" in listed


def test_component_first_then_endpoint_with_retries(env):
    settings = {**env, "ENDPOINT_TYPE": "inference-component", "ENDPOINT_TTL": "1h"}
    ok(run_make("deploy-inference-endpoint", settings, "ARGS=--yes"))
    component = _schedule(env, f"{ENDPOINT}-ttl-ic")
    endpoint = _schedule(env, f"{ENDPOINT}-ttl")
    assert component["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:deleteInferenceComponent"
    assert json.loads(component["Target"]["Input"]) == {"InferenceComponentName": f"{ENDPOINT}-ic"}
    assert endpoint["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    advance_clock(env["AWS_ENDPOINT_URL"], 3600 + 1)
    advance_clock(env["AWS_ENDPOINT_URL"], 1)
    assert _billing(env) == [ENDPOINT]  # the component is gone, the endpoint's turn comes 5 minutes later
    for _ in range(3):
        advance_clock(env["AWS_ENDPOINT_URL"], 150)
    assert _billing(env) == []


def test_redeploy_moves_the_schedule_and_delete_removes_it(env):
    ok(run_make("deploy-inference-endpoint", {**env, "ENDPOINT_TTL": "2h"}, "ARGS=--yes"))
    first = _schedule(env, f"{ENDPOINT}-ttl")["ScheduleExpression"]
    redeployed = ok(run_make("deploy-inference-endpoint", {**env, "ENDPOINT_TTL": "1d"}, "ARGS=--yes"))
    assert "moved schedule llm-engineering/llm-engineering-endpoint-ttl" in redeployed.stdout
    assert _schedule(env, f"{ENDPOINT}-ttl")["ScheduleExpression"] > first
    deleted = ok(run_make("delete-inference-endpoint", env))
    assert f"schedule {GROUP}/{ENDPOINT}-ttl" in deleted.stdout
    assert client(env, "scheduler").list_schedules(GroupName=GROUP)["Schedules"] == []
    again = ok(run_make("delete-inference-endpoint", env))  # idempotent
    assert "Nothing to delete" in again.stdout


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        ("4x", "ENDPOINT_TTL='4x' is invalid: must be a duration"),
        ("10m", "ENDPOINT_TTL='10m' is shorter than a deploy takes"),
    ],
)
def test_bad_ttl_is_one_line_exit_2_and_nothing_created(env, ttl, message):
    result = run_make("deploy-inference-endpoint", {**env, "ENDPOINT_TTL": ttl}, "ARGS=--yes")
    assert result.returncode == 2 and "Error 2" in result.stderr
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert message in line
    assert _billing(env) == [] and client(env, "sagemaker").list_models()["Models"] == []


def test_ttl_without_the_scheduler_role_says_what_to_run(env):
    iam = client(env, "iam")
    iam.delete_role_policy(RoleName="SageMakerExecutionRoleLLM-ttl", PolicyName="DeleteExpiredEndpoints")
    iam.delete_role(RoleName="SageMakerExecutionRoleLLM-ttl")
    result = run_make("deploy-inference-endpoint", {**env, "ENDPOINT_TTL": "2h"}, "ARGS=--yes")
    assert result.returncode == 2
    assert "needs the IAM role SageMakerExecutionRoleLLM-ttl" in result.stderr
    assert "run make create-sagemaker-execution-role first" in result.stderr
    assert _billing(env) == [] and client(env, "sagemaker").list_models()["Models"] == []


def test_extend_ttl_needs_ttl_and_an_endpoint(env):
    missing = run_make("extend-ttl", env)
    assert missing.returncode == 2 and "TTL is required: make extend-ttl TTL=2h" in missing.stderr
    nothing = run_make("extend-ttl", env, "TTL=2h")
    assert nothing.returncode == 2 and "no such endpoint" in nothing.stderr


def test_an_endpoint_refused_while_its_component_goes_is_retried(env):
    settings = {**env, "ENDPOINT_TYPE": "inference-component", "ENDPOINT_TTL": "1h"}
    ok(run_make("deploy-inference-endpoint", settings, "ARGS=--yes"))
    url = env["AWS_ENDPOINT_URL"]
    advance_clock(url, 3600 + 300 + 1)  # both due at once: the endpoint is refused while its component is Deleting
    status = client(env, "sagemaker").describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"]
    assert status == "InService"  # refused, not deleting
    assert _schedule(env, f"{ENDPOINT}-ttl")["State"] == "ENABLED"  # kept for its retry
    advance_clock(url, 61)  # the retry
    advance_clock(url, 1)
    assert _billing(env) == []
    assert client(env, "scheduler").list_schedules(GroupName=GROUP)["Schedules"] == []
