"""moto's gaps, closed in the emulator: the inference-component dimension is accepted, deregistering deletes
the target's policies (and answers ObjectNotFoundException when nothing is registered), as on AWS, and an
update may not change a scaled variant's instance type; and a
deploy's rollback removes the scalable target, its policies and the alarms it created."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from scaling_factories import FAST, spec_of

from llm_engineering.aws import connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import build_plan
from llm_engineering.resources.endpoints import Resource
from llm_engineering.resources.waiting import silent

TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "inference-component/some-component",
    "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
}


def scaling():
    return boto3.client("application-autoscaling", region_name="us-east-1")


def test_the_inference_component_dimension_registers_and_deregistering_deletes_its_policies(emulator):
    scaling().register_scalable_target(**TARGET, MinCapacity=0, MaxCapacity=2)
    scaling().put_scaling_policy(
        PolicyName="wake",
        **TARGET,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )

    scaling().deregister_scalable_target(**TARGET)

    assert scaling().describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling().describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    with pytest.raises(ClientError) as missing:
        scaling().deregister_scalable_target(**TARGET)
    assert missing.value.response["Error"]["Code"] == "ObjectNotFoundException"


def test_a_rollback_removes_the_target_its_policies_and_the_alarms_the_run_created(emulator):
    aws = connect(region="us-east-1")
    spec = spec_of(endpoint_type="inference-component", autoscaling_min_capacity=0, autoscaling_max_capacity=1)
    plan = build_plan(spec, observe(spec, aws))
    applier = Applier(aws, spec, silent, FAST)
    applier.apply(plan)
    assert Resource("scalable-target", "inference-component/llm-engineering-endpoint-ic") in applier.created

    deleted, remaining = applier.rollback()

    assert remaining == [] and Resource("alarm", "llm-engineering-endpoint-ic-no-capacity") in deleted
    assert scaling().describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling().describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"] == []
    assert boto3.client("sagemaker", region_name="us-east-1").list_endpoints()["Endpoints"] == []


def test_a_refused_alarm_rolls_back_the_target_the_component_and_the_endpoint(emulator):
    from botocore.stub import Stubber

    from llm_engineering.hosting.apply import DeploymentFailed

    aws = connect(region="us-east-1")
    spec = spec_of(endpoint_type="inference-component", autoscaling_min_capacity=0, autoscaling_max_capacity=1)
    plan = build_plan(spec, observe(spec, aws))
    applier = Applier(aws, spec, silent, FAST)
    with Stubber(aws.client("cloudwatch")) as cloudwatch:
        cloudwatch.add_client_error("put_metric_alarm", "AccessDenied", "not allowed: cloudwatch:PutMetricAlarm")
        with pytest.raises(DeploymentFailed) as failed:
            applier.apply(plan)

    assert Resource("scalable-target", "inference-component/llm-engineering-endpoint-ic") in failed.value.rolled_back
    assert failed.value.remaining == []
    assert scaling().describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling().describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    assert sagemaker.list_endpoints()["Endpoints"] == [] and sagemaker.list_models()["Models"] == []


def test_a_scalable_target_keeps_its_tags_until_it_is_deregistered(emulator):
    arn = scaling().register_scalable_target(**TARGET, MinCapacity=0, MaxCapacity=2, Tags={"team": "ml"})[
        "ScalableTargetARN"
    ]
    scaling().tag_resource(ResourceARN=arn, Tags={"llm-engineering:managed-by": "llm-engineering"})
    scaling().untag_resource(ResourceARN=arn, TagKeys=["team"])

    assert scaling().list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "llm-engineering:managed-by": "llm-engineering"
    }
    scaling().deregister_scalable_target(**TARGET)
    with pytest.raises(ClientError) as gone:
        scaling().list_tags_for_resource(ResourceARN=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_update_to_another_instance_type_of_a_scaled_variant_is_refused(emulator, deploy):
    _, plan = deploy(autoscaling_min_capacity=1, autoscaling_max_capacity=2)
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    variant = {"VariantName": "AllTraffic", "InitialInstanceCount": 1, "ModelName": plan.model_name}
    for name, instance_type in (("same-type", "ml.g5.2xlarge"), ("other-type", "ml.g6.2xlarge")):
        sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=[{**variant, "InstanceType": instance_type}]
        )

    with pytest.raises(ClientError) as refused:
        sagemaker.update_endpoint(EndpointName=plan.endpoint_name, EndpointConfigName="other-type")

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "target for auto scaling" in refused.value.response["Error"]["Message"]
    sagemaker.update_endpoint(EndpointName=plan.endpoint_name, EndpointConfigName="same-type")  # the model may change
