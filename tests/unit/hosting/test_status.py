"""`make status`: what is billing, found by tags, without the SageMaker SDK."""

from __future__ import annotations

from datetime import timedelta

import boto3

from llm_engineering.hosting.inventory import managed_endpoints


def test_lists_managed_endpoints_with_instances_and_cost(deployed):
    aws, plan = deployed
    client = aws.client("sagemaker")
    created = client.describe_endpoint(EndpointName=plan.endpoint_name)["CreationTime"]
    [status] = managed_endpoints(client, now=created + timedelta(hours=2))
    assert (status.name, status.status, status.kind) == (plan.endpoint_name, "InService", "model-based")
    assert status.model_id == "Qwen/Qwen2.5-7B-Instruct"
    assert status.instances == "1 x ml.g5.2xlarge"
    assert status.cost is not None and status.cost.usd_per_hour == 1.52
    assert round(status.usd_so_far or 0, 2) == 3.04


def test_endpoints_of_others_are_not_listed(moto_aws):
    client = boto3.client("sagemaker", region_name="us-east-1")
    client.create_model(
        ModelName="theirs",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "theirs",
        "InstanceType": "ml.g5.2xlarge",
        "InitialInstanceCount": 1,
    }
    client.create_endpoint_config(EndpointConfigName="theirs", ProductionVariants=[variant])
    client.create_endpoint(EndpointName="theirs", EndpointConfigName="theirs")
    assert managed_endpoints(client) == []


def _theirs(client, name: str = "theirs") -> None:
    client.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InstanceType": "ml.g5.2xlarge",
        "InitialInstanceCount": 1,
    }
    client.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    client.create_endpoint(EndpointName=name, EndpointConfigName=name)


def _status(capsys) -> tuple[int, str, str]:
    import pytest

    from llm_engineering.cli import run
    from llm_engineering.model.deploy import status

    with pytest.raises(SystemExit) as stopped:
        run(lambda: status.main([]))
    captured = capsys.readouterr()
    return int(stopped.value.code or 0), captured.out, captured.err


def test_status_never_says_nothing_is_billing_while_other_endpoints_run(moto_aws, capsys):
    assert _status(capsys) == (0, "No endpoint in us-east-1: nothing is billing.\n", "")
    _theirs(boto3.client("sagemaker", region_name="us-east-1"))
    assert _status(capsys) == (
        0,
        "No endpoint created by this tool in us-east-1.\n"
        "1 other endpoint in us-east-1 (not created by this tool) bills too: theirs "
        "(aws sagemaker list-endpoints --region us-east-1).\n",
        "",
    )


def test_status_counts_the_others_beside_its_own_and_names_the_configured_endpoint(deployed, capsys, monkeypatch):
    aws, plan = deployed
    client = aws.client("sagemaker")
    _theirs(client, "theirs-1")
    _theirs(client, "theirs-2")
    code, out, _ = _status(capsys)
    assert code == 0
    assert out.startswith("Endpoints created by this tool in us-east-1 (billed from creation until deletion):\n")
    assert f"  {plan.endpoint_name}: InService, model-based" in out
    assert out.endswith(
        "2 other endpoints in us-east-1 (not created by this tool) bill too: theirs-1, theirs-2 "
        "(aws sagemaker list-endpoints --region us-east-1).\n"
    )
    monkeypatch.setenv("ENDPOINT_NAME", "elsewhere")
    assert _status(capsys)[1].endswith("Endpoint elsewhere, which your settings name, does not exist in us-east-1.\n")
    monkeypatch.setenv("ENDPOINT_NAME", "theirs-1")
    assert _status(capsys)[1].endswith(
        "Endpoint theirs-1, which your settings name, exists but was not created by this tool.\n"
    )
