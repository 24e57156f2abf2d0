"""`make cleanup` end to end: a TTL delete leaves configs and models; cleanup lists, then removes, only those."""

from __future__ import annotations

import pytest
from helpers import client, create_execution_role, ok, run_make

from llm_engineering.local.server import advance_clock

TAGS = [{"Key": "llm-engineering:managed-by", "Value": "llm-engineering"}]


@pytest.fixture
def env(server_env: dict[str, str], capsys) -> dict[str, str]:
    server_env = {**server_env, "WAIT_POLL_INTERVAL": "0.1"}
    create_execution_role(server_env, capsys)
    return server_env


def _theirs(env: dict[str, str]) -> None:
    sagemaker = client(env, "sagemaker")
    sagemaker.create_model(
        ModelName="theirs",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "theirs", "InstanceType": "ml.g5.xlarge"}
    sagemaker.create_endpoint_config(
        EndpointConfigName="theirs", ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
    )
    sagemaker.create_endpoint(EndpointName="theirs", EndpointConfigName="theirs")


def test_cleanup_lists_then_removes_what_a_ttl_delete_left_and_keeps_the_live_endpoint(env):
    ok(
        run_make(
            "deploy-inference-endpoint", {**env, "ENDPOINT_NAME": "short-lived", "ENDPOINT_TTL": "1h"}, "ARGS=--yes"
        )
    )
    ok(run_make("deploy-inference-endpoint", {**env, "ENDPOINT_NAME": "kept"}, "ARGS=--yes"))
    _theirs(env)
    cloudwatch = client(env, "cloudwatch")
    alarm = {
        "MetricName": "Invocations",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    for name, endpoint, tags in (
        ("ours-gone", "short-lived", TAGS),
        ("ours-live", "kept", TAGS),
        ("foreign", "short-lived", []),
    ):
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]
        cloudwatch.put_metric_alarm(AlarmName=name, Dimensions=dimensions, Tags=tags, **alarm)
    advance_clock(env["AWS_ENDPOINT_URL"], 3600 + 1)
    advance_clock(env["AWS_ENDPOINT_URL"], 1)
    sagemaker = client(env, "sagemaker")
    assert sorted(e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]) == ["kept", "theirs"]
    scaling = client(env, "application-autoscaling")
    dimension = {"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount"}
    for resource, tags in (("inference-component/ours-gone-ic", TAGS), ("inference-component/foreign-ic", [])):
        target = {"ResourceId": resource, "MinCapacity": 0, "MaxCapacity": 1, **dimension}
        scaling.register_scalable_target(**target, Tags={tag["Key"]: tag["Value"] for tag in tags})

    listed = ok(run_make("cleanup", env)).stdout
    assert "endpoint config short-lived-" in listed and "model short-lived-" in listed
    assert "alarm ours-gone: endpoint short-lived is gone" in listed
    assert "scalable target inference-component/ours-gone-ic" in listed and "foreign-ic" not in listed
    assert (
        "ours-live" not in listed
        and "foreign" not in listed
        and "kept-" not in listed
        and "theirs" not in listed.split("were not")[0]
    )
    assert "1 endpoint(s) in us-east-1 were not created by this tool" in listed
    assert "Nothing deleted: run make cleanup ARGS=--yes" in listed
    assert len(sagemaker.list_models()["Models"]) == 3  # listing changed nothing

    removed = ok(run_make("cleanup", env, "ARGS=--yes")).stdout
    assert "deleted alarm ours-gone" in removed
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [target["ResourceId"] for target in targets] == ["inference-component/foreign-ic"]
    models = sorted(m["ModelName"] for m in sagemaker.list_models()["Models"])
    assert models[0].startswith("kept-") and models[1] == "theirs" and len(models) == 2
    assert sorted(a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]) == ["foreign", "ours-live"]
    assert sagemaker.describe_endpoint(EndpointName="kept")["EndpointStatus"] == "InService"
    again = ok(run_make("cleanup", env)).stdout
    assert "Nothing of this tool to clean up in us-east-1." in again


def test_failed_endpoints_are_listed_with_their_cost_and_older_than_limits(env):
    from llm_engineering.local.server import configure

    configure(env["AWS_ENDPOINT_URL"], health_check_failures={"broken": "oom"})
    run_make("deploy-inference-endpoint", {**env, "ENDPOINT_NAME": "broken"}, "ARGS=--yes --keep-failed")
    listed = ok(run_make("cleanup", env)).stdout
    assert "endpoint broken: Failed, about USD 1.52/hour" in listed
    recent = ok(run_make("cleanup", env, "ARGS=--older-than 1d")).stdout
    assert "Nothing of this tool to clean up older than 1d" in recent
    ok(run_make("cleanup", env, "ARGS=--yes"))
    assert client(env, "sagemaker").list_endpoints()["Endpoints"] == []


def test_bad_older_than_is_one_line(env):
    result = run_make("cleanup", env, "ARGS=--older-than 7")
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert "--older-than='7' is invalid" in line
