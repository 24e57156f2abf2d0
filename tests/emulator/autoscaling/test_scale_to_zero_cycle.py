"""The whole scale-to-zero cycle on the emulator: deploy with min 0, invoke, idle, zero copies, a refused
invocation that raises the alarm, a copy back after the start-up time, an answer, and a delete that leaves
no policy, target or alarm."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from scaling_factories import FAST

from llm_engineering.hosting.teardown import delete_deployment
from llm_engineering.local.server import advance_clock

ENDPOINT = "llm-engineering-endpoint"
COMPONENT = f"{ENDPOINT}-ic"
TO_ZERO = {
    "endpoint_type": "inference-component",
    "autoscaling_min_capacity": 0,
    "autoscaling_max_capacity": 2,
    "scale_to_zero_after": 5,
}


def invoke() -> dict:
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    answer = runtime.invoke_endpoint(
        EndpointName=ENDPOINT,
        InferenceComponentName=COMPONENT,
        ContentType="application/json",
        Body=json.dumps({"inputs": "Hello", "parameters": {"max_new_tokens": 4}}),
    )
    return json.loads(answer["Body"].read())


def copies() -> tuple[int, int]:
    described = boto3.client("sagemaker", region_name="us-east-1").describe_inference_component(
        InferenceComponentName=COMPONENT
    )["RuntimeConfig"]
    return described["DesiredCopyCount"], described["CurrentCopyCount"]


def instances() -> tuple[int, int]:
    endpoint = boto3.client("sagemaker", region_name="us-east-1").describe_endpoint(EndpointName=ENDPOINT)
    variant = endpoint["ProductionVariants"][0]
    return variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]


def alarm_state(name: str) -> str:
    alarms = boto3.client("cloudwatch", region_name="us-east-1").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarms[0]["StateValue"]


def test_a_component_goes_to_zero_when_idle_and_comes_back_on_a_request(emulator, deploy):
    aws, _ = deploy(**TO_ZERO)
    assert copies() == (1, 1)
    assert invoke()

    advance_clock(emulator, 4 * 60)
    assert copies() == (1, 1)  # not idle for SCALE_TO_ZERO_AFTER yet
    advance_clock(emulator, 2 * 60)
    assert copies() == (0, 0)
    assert alarm_state(f"{COMPONENT}-idle") == "ALARM"
    assert instances() == (0, 0)  # ManagedInstanceScaling: no copy, no instance billed

    with pytest.raises(ClientError) as refused:
        invoke()
    assert "no capacity" in refused.value.response["Error"]["Message"]
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    metrics = cloudwatch.list_metrics(Namespace="AWS/SageMaker", MetricName="NoCapacityInvocationFailures")["Metrics"]
    assert metrics[0]["Dimensions"] == [{"Name": "InferenceComponentName", "Value": COMPONENT}]

    advance_clock(emulator, 1)
    assert alarm_state(f"{COMPONENT}-no-capacity") == "ALARM"
    assert copies() == (1, 0)  # a copy is starting
    advance_clock(emulator, 1)
    assert copies() == (1, 1)
    assert instances() == (1, 1)
    assert invoke()

    report = delete_deployment(aws, ENDPOINT, poller=FAST)

    assert f"autoscaling target inference-component/{COMPONENT}" in report.deleted
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert boto3.client("sagemaker", region_name="us-east-1").list_endpoints()["Endpoints"] == []
