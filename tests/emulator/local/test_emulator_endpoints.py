"""Endpoint configs and endpoints through real HTTP: instance types, life cycle, update, delete, tags."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from emulator_clients import ROLE_ARN, Aws, wait_until

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.mark.parametrize("instance_type", ["ml.g5.2xlarge", "ml.g6e.12xlarge", "ml.p5.48xlarge", "ml.inf2.xlarge"])
def test_every_instance_type_of_botocores_enum_is_accepted(aws: Aws, instance_type: str) -> None:
    aws.create_model()
    arn = aws.create_config(instance_type=instance_type)

    described = aws.sagemaker.describe_endpoint_config(EndpointConfigName="config")
    assert arn == f"{ARN}:endpoint-config/config"
    assert described["ProductionVariants"] == [
        {"VariantName": "AllTraffic", "ModelName": "model", "InstanceType": instance_type, "InitialInstanceCount": 1}
    ]


def test_an_instance_type_outside_the_enum_is_refused_with_awss_wording(aws: Aws) -> None:
    aws.create_model()
    # botocore's client refuses nothing here (it does not check enums), so the emulator must.
    with pytest.raises(ClientError) as excinfo:
        aws.create_config(instance_type="ml.g5.3xlarge")

    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith(
        "1 validation error detected: Value 'ml.g5.3xlarge' at 'productionVariants.1.member.instanceType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [ml.t2.medium, "
    )
    assert aws.sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_an_inference_component_config_has_no_model_and_keeps_its_execution_role(aws: Aws) -> None:
    aws.create_config(model=None)

    described = aws.sagemaker.describe_endpoint_config(EndpointConfigName="config")
    assert described["ExecutionRoleArn"] == ROLE_ARN
    assert described["ProductionVariants"] == [
        {"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1}
    ]


def test_a_config_without_model_needs_an_execution_role(aws: Aws) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws.sagemaker.create_endpoint_config(
            EndpointConfigName="config",
            ProductionVariants=[{"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge"}],
        )

    assert error_of(excinfo) == (
        "ValidationException",
        "ExecutionRoleArn is required when a production variant has no ModelName (endpoints for inference components).",
    )


def test_a_config_naming_a_missing_model_or_an_existing_name_is_refused(aws: Aws) -> None:
    with pytest.raises(ClientError) as missing:
        aws.create_config(model="nope")
    aws.create_model()
    aws.create_config()
    with pytest.raises(ClientError) as duplicate:
        aws.create_config()

    assert error_of(missing) == ("ValidationException", f'Could not find model "{ARN}:model/nope".')
    assert error_of(duplicate) == (
        "ValidationException",
        f'Cannot create already existing endpoint configuration "{ARN}:endpoint-config/config".',
    )


def test_an_endpoint_is_creating_then_in_service(aws: Aws) -> None:
    aws.create_model()
    aws.create_config()
    arn = aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")["EndpointArn"]

    creating = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    ready = aws.sagemaker.describe_endpoint(EndpointName="endpoint")

    assert arn == f"{ARN}:endpoint/endpoint"
    assert creating["EndpointStatus"] == "Creating"
    assert [variant.get("CurrentInstanceCount") for variant in creating["ProductionVariants"]] == [None]
    assert ready["EndpointConfigName"] == "config"
    assert "FailureReason" not in ready
    variant = ready["ProductionVariants"][0]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (
        "AllTraffic",
        1,
        1,
    )
    assert variant["DeployedImages"][0]["ResolvedImage"].startswith(variant["DeployedImages"][0]["SpecifiedImage"])
    assert ready["LastModifiedTime"] > ready["CreationTime"]


def test_list_endpoints_filters_by_status_and_name(aws: Aws) -> None:
    aws.deploy("first")
    aws.sagemaker.create_endpoint(EndpointName="second", EndpointConfigName="config")

    creating = aws.sagemaker.list_endpoints(StatusEquals="Creating")["Endpoints"]
    in_service = aws.sagemaker.list_endpoints(StatusEquals="InService")["Endpoints"]
    by_name = aws.sagemaker.list_endpoints(NameContains="fir")["Endpoints"]
    sorted_names = [
        row["EndpointName"] for row in aws.sagemaker.list_endpoints(SortBy="Name", SortOrder="Ascending")["Endpoints"]
    ]

    assert [row["EndpointName"] for row in creating] == ["second"]
    assert [row["EndpointName"] for row in in_service] == ["first"]
    assert [row["EndpointName"] for row in by_name] == ["first"]
    assert sorted_names == ["first", "second"]


def test_a_second_endpoint_with_the_same_name_is_refused(aws: Aws) -> None:
    aws.deploy()
    with pytest.raises(ClientError) as excinfo:
        aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")

    assert error_of(excinfo) == (
        "ValidationException",
        f'Cannot create already existing endpoint "{ARN}:endpoint/endpoint".',
    )


def test_update_endpoint_goes_through_updating_to_the_new_config(aws: Aws) -> None:
    aws.deploy()
    aws.create_model("model-2")
    aws.create_config("config-2", model="model-2")

    aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="config-2")
    updating = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    updated = aws.sagemaker.describe_endpoint(EndpointName="endpoint")

    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == "config"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "config-2"
    assert updated["EndpointConfigName"] == "config-2"
    assert "PendingDeploymentSummary" not in updated


def test_update_endpoint_refuses_a_missing_config_and_an_endpoint_in_progress(aws: Aws) -> None:
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    with pytest.raises(ClientError) as in_progress:
        aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    with pytest.raises(ClientError) as missing:
        aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="nope")

    assert error_of(in_progress) == (
        "ValidationException",
        f'Cannot update in-progress endpoint "{ARN}:endpoint/endpoint".',
    )
    assert error_of(missing) == (
        "ValidationException",
        f'Could not find endpoint configuration "{ARN}:endpoint-config/nope".',
    )
    assert aws.sagemaker.describe_endpoint(EndpointName="endpoint")["EndpointConfigName"] == "config"


def test_delete_endpoint_is_deleting_then_gone_as_on_aws(aws: Aws) -> None:
    aws.deploy()

    aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    deleting = aws.endpoint_status("endpoint")
    wait_until(aws, lambda: aws.sagemaker.list_endpoints()["Endpoints"] == [])
    with pytest.raises(ClientError) as excinfo:
        aws.sagemaker.describe_endpoint(EndpointName="endpoint")

    assert deleting == "Deleting"
    assert error_of(excinfo) == ("ValidationException", f'Could not find endpoint "{ARN}:endpoint/endpoint".')
    # The config and model outlive the endpoint, as on AWS.
    assert [row["EndpointConfigName"] for row in aws.sagemaker.list_endpoint_configs()["EndpointConfigs"]] == ["config"]


def test_tags_given_at_creation_and_added_later_are_listed_on_every_arn(aws: Aws) -> None:
    tags = [{"Key": "llm-engineering:managed-by", "Value": "llm-engineering"}]
    model_arn = aws.sagemaker.create_model(
        ModelName="model", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "image"}, Tags=tags
    )["ModelArn"]
    config_arn = aws.sagemaker.create_endpoint_config(
        EndpointConfigName="config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "model", "InstanceType": "ml.g5.2xlarge"}],
        Tags=tags,
    )["EndpointConfigArn"]
    endpoint_arn = aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config", Tags=tags)[
        "EndpointArn"
    ]

    aws.sagemaker.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": "llm-engineering:managed-by", "Value": "other"}])
    aws.sagemaker.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": "team", "Value": "ml"}])

    assert aws.sagemaker.list_tags(ResourceArn=model_arn)["Tags"] == tags
    assert aws.sagemaker.list_tags(ResourceArn=config_arn)["Tags"] == tags
    assert aws.sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == [
        {"Key": "llm-engineering:managed-by", "Value": "other"},
        {"Key": "team", "Value": "ml"},
    ]
    aws.sagemaker.delete_tags(ResourceArn=endpoint_arn, TagKeys=["team"])
    assert aws.sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == [
        {"Key": "llm-engineering:managed-by", "Value": "other"}
    ]


def test_tags_of_a_missing_resource_are_a_validation_error(aws: Aws) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws.sagemaker.list_tags(ResourceArn=f"{ARN}:endpoint/nope")

    assert error_of(excinfo) == ("ValidationException", f'Could not find resource "{ARN}:endpoint/nope".')
