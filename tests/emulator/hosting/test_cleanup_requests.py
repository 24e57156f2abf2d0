"""Which requests delete and observe make, on the emulator: each resource read once, tags read only where the
tool's own `runs` tag cannot vouch, and every guarantee kept (foreign resources refused, leftovers found)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from aws_recorder import AwsRecorder, Call
from plan_factories import FAST, settings

from llm_engineering.aws import Aws, connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import Plan, build_plan
from llm_engineering.hosting.teardown import ForeignResources, delete_deployment
from llm_engineering.resources.endpoints import Endpoint
from llm_engineering.resources.waiting import silent
from llm_engineering.tags import tool_tags

ENDPOINT = "llm-engineering-endpoint"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:1"


@pytest.fixture
def requests(aws_recorder: AwsRecorder) -> AwsRecorder:
    """Every request the tool's sessions send, in order (`requests.calls`)."""
    return aws_recorder


def sagemaker() -> Any:
    return boto3.client("sagemaker", region_name="us-east-1")


def deploy(**values: object) -> tuple[Aws, Plan]:
    aws = connect(region="us-east-1")
    spec = settings(**values)
    plan = build_plan(spec, observe(spec, aws))
    Applier(aws, spec, silent, FAST).apply(plan)
    return aws, plan


def without_polls(sent: list[Call]) -> list[str]:
    """The operations, a wait's repeated Describe calls counted once."""
    names: list[str] = []
    for _, name, _ in sent:
        if not (names and name == names[-1] and name.startswith("Describe")):
            names.append(name)
    return names


def left() -> tuple[list[str], list[str], list[str]]:
    client = sagemaker()
    return (
        [item["EndpointName"] for item in client.list_endpoints()["Endpoints"]],
        sorted(item["EndpointConfigName"] for item in client.list_endpoint_configs()["EndpointConfigs"]),
        sorted(item["ModelName"] for item in client.list_models()["Models"]),
    )


def test_a_model_based_delete_takes_eight_requests_besides_its_polls(emulator, requests):
    aws, plan = deploy()
    requests.calls.clear()

    report = delete_deployment(aws, ENDPOINT, poller=FAST)

    assert report.deleted == [f"endpoint {ENDPOINT}", f"endpoint config {plan.model_name}", f"model {plan.model_name}"]
    assert without_polls(requests.calls) == [
        "DescribeEndpoint",
        "ListTags",  # the endpoint's: ours, and set to run its config (so the config and its model are ours)
        "DescribeEndpointConfig",
        "ListEndpointConfigs",
        "ListModels",
        "DeleteEndpoint",
        "DescribeEndpoint",  # the wait until it is gone
        "DeleteEndpointConfig",
        "DeleteModel",
    ]
    assert [params["ResourceArn"].rsplit(":", 1)[1] for _, name, params in requests.calls if name == "ListTags"] == [
        f"endpoint/{ENDPOINT}"
    ]
    assert left() == ([], [], [])


def test_a_foreign_config_behind_the_tools_endpoint_is_still_refused(emulator, requests):
    """Someone pointed the endpoint at their own config: the `runs` tag no longer vouches, the tags decide."""
    aws, plan = deploy()
    client = sagemaker()
    client.create_model(ModelName="theirs", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    variant = {"VariantName": "AllTraffic", "ModelName": "theirs", "InstanceType": "ml.g5.2xlarge"}
    client.create_endpoint_config(EndpointConfigName="theirs", ProductionVariants=[variant])
    client.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="theirs")
    Endpoint(client, ENDPOINT).wait(FAST, 10)

    with pytest.raises(ForeignResources) as refused:
        delete_deployment(aws, ENDPOINT, poller=FAST)

    assert "endpoint config theirs, model theirs lack this tool's tags" in str(refused.value)
    assert left() == ([ENDPOINT], sorted(["theirs", plan.model_name]), sorted(["theirs", plan.model_name]))
    report = delete_deployment(aws, ENDPOINT, force=True, poller=FAST)
    assert sorted(report.deleted) == sorted(
        [
            f"endpoint {ENDPOINT}",
            "endpoint config theirs",
            f"endpoint config {plan.model_name}",
            "model theirs",
            f"model {plan.model_name}",
        ]
    )
    assert left() == ([], [], [])


def test_leftovers_of_an_interrupted_run_are_found_by_their_tags(emulator, requests):
    aws, _ = deploy()
    client = sagemaker()
    tags = tool_tags(endpoint=ENDPOINT, model_id="Qwen/Qwen2.5-7B-Instruct")
    leftover = f"{ENDPOINT}-20261201-000000000"
    client.create_model(ModelName=leftover, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=tags)
    client.create_model(ModelName=f"{ENDPOINT}-untagged", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    requests.calls.clear()

    report = delete_deployment(aws, ENDPOINT, poller=FAST)

    assert f"model {leftover}" in report.deleted
    assert left() == ([], [], [f"{ENDPOINT}-untagged"])
    tagged = sorted(params["ResourceArn"].rsplit(":", 1)[1] for _, name, params in requests.calls if name == "ListTags")
    assert tagged == [f"endpoint/{ENDPOINT}", f"model/{leftover}", f"model/{ENDPOINT}-untagged"]


def test_an_endpoint_without_the_runs_tag_has_its_config_and_model_tags_read(emulator, requests):
    """Endpoints deployed before the `runs` tag existed are deleted as before: the config's tags are read (and,
    being this tool's, vouch for the model it runs)."""
    aws, plan = deploy()
    client = sagemaker()
    arn = client.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    client.delete_tags(ResourceArn=arn, TagKeys=["llm-engineering:runs"])
    requests.calls.clear()

    report = delete_deployment(aws, ENDPOINT, poller=FAST)

    assert len(report.deleted) == 3 and left() == ([], [], [])
    tagged = [params["ResourceArn"].rsplit(":", 1)[1] for _, name, params in requests.calls if name == "ListTags"]
    assert tagged == [f"endpoint/{ENDPOINT}", f"endpoint-config/{plan.model_name}"]


def test_deleting_the_endpoint_deregisters_its_variants_autoscaling(emulator, requests):
    aws, _ = deploy()
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{ENDPOINT}/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=2)
    scaling.put_scaling_policy(
        PolicyName="invocations",
        **target,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    )
    requests.calls.clear()

    delete_deployment(aws, ENDPOINT, poller=FAST)

    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert not [name for _, name, _ in requests.calls if "Scalable" in name]  # SageMaker did it, as on AWS


def test_a_component_deployment_reads_the_tags_of_its_endpoint_and_component_only(emulator, requests):
    aws, _ = deploy(endpoint_type="inference-component")
    component = f"{ENDPOINT}-ic"
    requests.calls.clear()

    report = delete_deployment(aws, ENDPOINT, poller=FAST)

    assert report.deleted[0] == f"inference component {component}" and left() == ([], [], [])
    tagged = [params["ResourceArn"].rsplit(":", 1)[1] for _, name, params in requests.calls if name == "ListTags"]
    assert tagged == [f"endpoint/{ENDPOINT}", f"inference-component/{component}"]  # its model is vouched for
    # The components' autoscaling is deregistered by the tool (moto knows no inference-component dimension).
    scaling = {"ServiceNamespace": "sagemaker", "ResourceIds": [f"inference-component/{component}"]}
    assert ("DescribeScalableTargets", scaling) in [(call.operation, call.params) for call in requests.calls]


def test_observing_a_component_redeploy_reads_each_resource_once(emulator, requests):
    aws, _ = deploy(endpoint_type="inference-component")
    requests.calls.clear()

    observed = observe(settings(endpoint_type="inference-component"), aws)

    names = [name for _, name, _ in requests.calls]
    assert observed.component is not None and observed.component.managed
    assert names.count("DescribeInferenceComponent") == 1
    assert names.count("ListTags") == 2  # the endpoint's and the component's
    assert names.count("DescribeEndpoint") == names.count("DescribeEndpointConfig") == 1
