"""The whole scale-to-zero cycle on the emulator: deploy with min 0, invoke, 15 quiet minutes, zero copies by
target tracking, a refused invocation that raises the alarm, a copy back after the start-up time, an answer,
and a delete that leaves no policy, target or alarm. And the idle step policy earlier versions put, which the
StepAdjustment bound rules never let act."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from scaling_factories import FAST

from llm_engineering.hosting.teardown import delete_deployment
from llm_engineering.local.server import advance_clock, configure

ENDPOINT = "llm-engineering-endpoint"
COMPONENT = f"{ENDPOINT}-ic"
START_UP = 30
"""The emulated seconds a copy takes to start once the alarm fired (longer than any pause of a loaded machine)."""
TO_ZERO = {
    "endpoint_type": "inference-component",
    "autoscaling_min_capacity": 0,
    "autoscaling_max_capacity": 2,
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
    configure(emulator, transition_seconds=START_UP)
    assert copies() == (1, 1)
    assert invoke()

    advance_clock(emulator, 14 * 60)
    assert copies() == (1, 1)  # the request's minute is among target tracking's last 15
    advance_clock(emulator, 2 * 60)
    assert copies() == (0, 0)  # 15 whole minutes without a data point: target tracking scales in to zero
    assert instances() == (0, 0)  # ManagedInstanceScaling: no copy, no instance billed

    with pytest.raises(ClientError) as refused:
        invoke()
    assert "no capacity" in refused.value.response["Error"]["Message"]
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    metrics = cloudwatch.list_metrics(Namespace="AWS/SageMaker", MetricName="NoCapacityInvocationFailures")["Metrics"]
    assert metrics[0]["Dimensions"] == [{"Name": "InferenceComponentName", "Value": COMPONENT}]

    advance_clock(emulator, 1)
    assert alarm_state(f"{COMPONENT}-no-capacity") == "ALARM"
    assert copies() == (1, 0)  # a copy is starting (for START_UP emulated seconds: no race with the wall clock)
    advance_clock(emulator, START_UP)
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


def test_the_idle_step_policy_of_earlier_versions_never_scales_in(emulator, deploy):
    """ExactCapacity 0 on [0, inf) fired by `Invocations <= 0` (missing data breaching): the alarm goes to
    ALARM, but with the metric not above the threshold a step's lower bound is exclusive (0 > 0 + 0 fails),
    and with no data point there is no metric to match at all ("StepAdjustment", Application Auto Scaling API
    Reference): no step, no scaling. Target tracking's scale-in is disabled here, so only that policy could act."""
    deploy(**TO_ZERO)
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    key = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"inference-component/{COMPONENT}",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
    }
    [tracking] = [
        policy
        for policy in scaling.describe_scaling_policies(**key)["ScalingPolicies"]
        if policy["PolicyType"] == "TargetTrackingScaling"
    ]
    scaling.put_scaling_policy(
        PolicyName=tracking["PolicyName"],
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            **tracking["TargetTrackingScalingPolicyConfiguration"],
            "DisableScaleIn": True,
        },
        **key,
    )
    idle = scaling.put_scaling_policy(
        PolicyName=f"{COMPONENT}-scale-in-to-zero",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ExactCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 0}],
            "Cooldown": 300,
            "MetricAggregationType": "Maximum",
        },
        **key,
    )
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName=f"{COMPONENT}-idle",
        AlarmActions=[idle["PolicyARN"]],
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=[{"Name": "InferenceComponentName", "Value": COMPONENT}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=15,
        DatapointsToAlarm=15,
        Threshold=0.0,
        ComparisonOperator="LessThanOrEqualToThreshold",
        TreatMissingData="breaching",
    )

    advance_clock(emulator, 30 * 60)

    assert alarm_state(f"{COMPONENT}-idle") == "ALARM"
    assert copies() == (1, 1)  # the alarm fired, no step matched
