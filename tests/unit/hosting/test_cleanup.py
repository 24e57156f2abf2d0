"""Deleting an endpoint's resources: found through the endpoint and the tags, idempotent, foreign-safe."""

from __future__ import annotations

import boto3
import pytest
from plan_factories import FAST

from llm_engineering.aws import connect
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import Call, build_plan
from llm_engineering.hosting.teardown import ForeignResources, delete_deployment
from llm_engineering.tags import tool_tags

ENDPOINT = "llm-engineering-endpoint"


def sagemaker_state():
    client = boto3.client("sagemaker", region_name="us-east-1")
    return (
        [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]],
        [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]],
        [m["ModelName"] for m in client.list_models()["Models"]],
    )


def test_delete_removes_endpoint_config_and_model_then_finds_nothing(deployed):
    aws, plan = deployed
    report = delete_deployment(aws, ENDPOINT, poller=FAST)
    assert report.deleted == [
        f"endpoint {ENDPOINT}",
        f"endpoint config {plan.model_name}",
        f"model {plan.model_name}",
    ]
    assert sagemaker_state() == ([], [], [])
    again = delete_deployment(aws, ENDPOINT, poller=FAST)
    assert again.nothing_to_delete


def test_redeploy_leaves_one_config_and_one_model(deployed):
    aws, first = deployed
    # moto has no UpdateEndpoint; the observation it starts from is what matters here: the superseded
    # config and model are in the plan's retire list, and leftovers found by tag are too.
    from plan_factories import settings

    plan = build_plan(settings(hf_model_id="Qwen/Qwen2.5-1.5B-Instruct"), observe(settings(), aws))
    assert plan.action == "update"
    assert plan.retire == [
        Call("DeleteEndpointConfig", {"EndpointConfigName": first.model_name}),
        Call("DeleteModel", {"ModelName": first.model_name}),
    ]


def test_half_created_deployment_is_found_by_its_tags(moto_aws):
    client = boto3.client("sagemaker", region_name="us-east-1")
    tags = tool_tags(endpoint=ENDPOINT, model_id="Qwen/Qwen2.5-7B-Instruct")
    container = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tgi:1"}
    role = "arn:aws:iam::123456789012:role/r"
    client.create_model(
        ModelName=f"{ENDPOINT}-20261126-1", PrimaryContainer=container, ExecutionRoleArn=role, Tags=tags
    )
    other = tool_tags(endpoint="another-endpoint")
    client.create_model(ModelName=f"{ENDPOINT}-other", PrimaryContainer=container, ExecutionRoleArn=role, Tags=other)
    client.create_model(ModelName=f"{ENDPOINT}-untagged", PrimaryContainer=container, ExecutionRoleArn=role)
    report = delete_deployment(connect(region="us-east-1"), ENDPOINT, poller=FAST)
    assert report.deleted == [f"model {ENDPOINT}-20261126-1"]
    assert sagemaker_state()[2] == [f"{ENDPOINT}-other", f"{ENDPOINT}-untagged"]


def test_foreign_endpoint_is_refused_unless_forced(moto_aws):
    client = boto3.client("sagemaker", region_name="us-east-1")
    client.create_model(
        ModelName="theirs",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
    )
    client.create_endpoint_config(
        EndpointConfigName="theirs",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "theirs",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="theirs")
    aws = connect(region="us-east-1")
    with pytest.raises(ForeignResources) as refused:
        delete_deployment(aws, ENDPOINT, poller=FAST)
    assert str(refused.value) == (
        f"Not deleting {ENDPOINT}: endpoint {ENDPOINT}, endpoint config theirs, model theirs lack this tool's tags "
        "(created elsewhere?); pass --force to delete anyway."
    )
    assert sagemaker_state() == ([ENDPOINT], ["theirs"], ["theirs"])
    report = delete_deployment(aws, ENDPOINT, force=True, poller=FAST)
    assert len(report.deleted) == 3
    assert sagemaker_state() == ([], [], [])


class _Client:
    """A SageMaker client that answers DescribeEndpoint from a list of states and records DeleteEndpoint."""

    def __init__(self, states: list[str], refusal: str | None = None) -> None:
        self.states = states
        self.refusal = refusal
        self.deletes = 0

    def describe_endpoint(self, EndpointName: str) -> dict:
        return {"EndpointName": EndpointName, "EndpointStatus": self.states.pop(0), "EndpointConfigName": "c"}

    def delete_endpoint(self, EndpointName: str) -> dict:
        from botocore.exceptions import ClientError

        self.deletes += 1
        if self.refusal:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": self.refusal}}, "DeleteEndpoint")
        return {}


def test_an_endpoint_already_deleting_is_joined_not_deleted_again():
    from llm_engineering.resources.endpoints import Endpoint

    client = _Client(["Deleting"])
    endpoint = Endpoint(client=client, name=ENDPOINT).fetch()
    endpoint.delete()
    assert client.deletes == 0


def test_a_deletion_that_started_meanwhile_is_fine_and_any_other_refusal_is_not():
    from botocore.exceptions import ClientError

    from llm_engineering.resources.endpoints import Endpoint

    raced = _Client(
        ["InService", "Deleting"], refusal=f'Cannot delete endpoint "{ENDPOINT}": it is already being deleted.'
    )
    Endpoint(client=raced, name=ENDPOINT).fetch().delete()
    assert raced.deletes == 1
    refused = _Client(["InService", "InService"], refusal="Cannot delete: something else")
    with pytest.raises(ClientError):
        Endpoint(client=refused, name=ENDPOINT).fetch().delete()
