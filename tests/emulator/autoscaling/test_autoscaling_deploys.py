"""Both endpoint types deploy with autoscaling on the emulator, and redeploys change it in place."""

from __future__ import annotations

import boto3
from scaling_factories import FAST, spec_of

from llm_engineering.aws import connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import build_plan, render
from llm_engineering.hosting.teardown import delete_deployment
from llm_engineering.resources.waiting import silent

ENDPOINT = "llm-engineering-endpoint"
COMPONENT = f"{ENDPOINT}-ic"


def targets() -> list[dict]:
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    return scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]


def policies() -> list[str]:
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    return sorted(
        p["PolicyName"] for p in scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    )


def alarms() -> list[str]:
    return sorted(
        a["AlarmName"] for a in boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"]
    )


def test_a_model_based_endpoint_deploys_with_its_variant_registered_and_deletes_without_leftovers(deploy):
    aws, _ = deploy(autoscaling_min_capacity=2, autoscaling_max_capacity=3, gpu_instance_count=2)

    [target] = targets()
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        f"endpoint/{ENDPOINT}/variant/AllTraffic",
        2,
        3,
    )
    assert policies() == [f"{ENDPOINT}-target-tracking"]

    delete_deployment(aws, ENDPOINT, poller=FAST)
    assert targets() == [] and policies() == []


def test_redeploys_add_scale_to_zero_then_remove_all_scaling_in_place(deploy):
    deploy(endpoint_type="inference-component", autoscaling_min_capacity=1, autoscaling_max_capacity=2)
    assert [t["MinCapacity"] for t in targets()] == [1] and alarms() == []

    deploy(endpoint_type="inference-component", autoscaling_min_capacity=0, autoscaling_max_capacity=3)
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets()] == [(0, 3)]
    assert policies() == [f"{COMPONENT}-{name}" for name in ("scale-out-from-zero", "target-tracking")]
    assert alarms() == [f"{COMPONENT}-no-capacity"]
    tags = boto3.client("cloudwatch", region_name="us-east-1").list_tags_for_resource(
        ResourceARN=boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"][0]["AlarmArn"]
    )["Tags"]
    assert {"Key": "llm-engineering:endpoint", "Value": ENDPOINT} in tags

    aws, _ = deploy(endpoint_type="inference-component", autoscaling_min_capacity=1, autoscaling_max_capacity=3)
    assert policies() == [f"{COMPONENT}-target-tracking"] and alarms() == []

    deploy(endpoint_type="inference-component")
    assert targets() == [] and policies() == [] and alarms() == []
    described = boto3.client("sagemaker", region_name="us-east-1").describe_inference_component(
        InferenceComponentName=COMPONENT
    )
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 1
    delete_deployment(aws, ENDPOINT, poller=FAST)


def _sent(aws) -> list[str]:
    """The operations the deploy's clients send from now on (botocore's before-call event, once validated)."""
    sent: list[str] = []
    def record(model, **_: object) -> None:
        sent.append(f"{model.service_model.service_name}:{model.name}")

    aws.session.register("before-call", record)
    return sent


def _redeploy(**values: object) -> tuple[list[str], object]:
    aws = connect(region="us-east-1")
    sent = _sent(aws)
    spec = spec_of(**values)
    plan = build_plan(spec, observe(spec, aws))
    Applier(aws, spec, silent, FAST).apply(plan)
    return sent, render(plan)


def test_a_redeploy_with_the_same_scaling_settings_sends_no_scaling_request(deploy):
    """The README's promise: the same settings again change nothing. The target, policies and alarm that exist
    are what would be sent, so nothing is registered or put again: the plan has no step."""
    settings = {"endpoint_type": "inference-component", "autoscaling_min_capacity": 0, "autoscaling_max_capacity": 2}
    deploy(**settings)

    sent, shown = _redeploy(**settings)

    writes = [name for name in sent if name.split(":")[1].startswith(("Register", "Put", "Delete", "Deregister"))]
    assert writes == []
    assert "Steps: none" in shown and "nothing at all changes" in shown
    assert "application-autoscaling:DescribeScalableTargets" in sent  # it did look


def test_a_redeploy_with_a_new_range_registers_the_target_only(deploy):
    deploy(endpoint_type="inference-component", autoscaling_min_capacity=0, autoscaling_max_capacity=2)

    sent, _ = _redeploy(endpoint_type="inference-component", autoscaling_min_capacity=0, autoscaling_max_capacity=3)

    writes = [name for name in sent if name.split(":")[1].startswith(("Register", "Put", "Delete", "Deregister"))]
    assert writes == ["application-autoscaling:RegisterScalableTarget"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets()] == [(0, 3)]


def test_a_redeploy_removes_the_idle_policy_and_alarm_earlier_versions_put(deploy):
    settings = {"endpoint_type": "inference-component", "autoscaling_min_capacity": 0, "autoscaling_max_capacity": 2}
    deploy(**settings)
    key = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"inference-component/{COMPONENT}",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
    }
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    scaling.put_scaling_policy(
        PolicyName=f"{COMPONENT}-scale-in-to-zero",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ExactCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 0}],
        },
        **key,
    )
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    [wake] = cloudwatch.describe_alarms(AlarmNames=[f"{COMPONENT}-no-capacity"])["MetricAlarms"]
    tags = cloudwatch.list_tags_for_resource(ResourceARN=wake["AlarmArn"])["Tags"]
    cloudwatch.put_metric_alarm(
        AlarmName=f"{COMPONENT}-idle",
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=[{"Name": "InferenceComponentName", "Value": COMPONENT}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=15,
        Threshold=0.0,
        ComparisonOperator="LessThanOrEqualToThreshold",
        TreatMissingData="breaching",
        Tags=tags,
    )

    sent, _ = _redeploy(**settings)

    writes = [name for name in sent if name.split(":")[1].startswith(("Register", "Put", "Delete", "Deregister"))]
    assert writes == ["application-autoscaling:DeleteScalingPolicy", "cloudwatch:DeleteAlarms"]
    assert policies() == [f"{COMPONENT}-scale-out-from-zero", f"{COMPONENT}-target-tracking"]
    assert alarms() == [f"{COMPONENT}-no-capacity"]
