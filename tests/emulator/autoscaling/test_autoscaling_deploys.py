"""Both endpoint types deploy with autoscaling on the emulator, and redeploys change it in place."""

from __future__ import annotations

import boto3
from scaling_factories import FAST

from llm_engineering.hosting.teardown import delete_deployment

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
    assert policies() == [
        f"{COMPONENT}-{name}" for name in ("scale-in-to-zero", "scale-out-from-zero", "target-tracking")
    ]
    assert alarms() == [f"{COMPONENT}-idle", f"{COMPONENT}-no-capacity"]
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
