"""Inference components through real HTTP: life cycle, SageMaker's validations, listing, updates, tags."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from emulator_clients import Aws, wait_until

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_component_is_creating_then_in_service_with_its_copies(aws: Aws) -> None:
    aws.create_model()
    aws.create_config(model=None)
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")

    arn = aws.create_component("component")
    creating = aws.sagemaker.describe_inference_component(InferenceComponentName="component")
    wait_until(aws, lambda: aws.component_status("component") == "InService")
    ready = aws.sagemaker.describe_inference_component(InferenceComponentName="component")

    assert arn == f"{ARN}:inference-component/component"
    assert (creating["InferenceComponentStatus"], creating["RuntimeConfig"]) == (
        "Creating",
        {"DesiredCopyCount": 1, "CurrentCopyCount": 0},
    )
    assert ready["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}
    assert (ready["EndpointName"], ready["EndpointArn"], ready["VariantName"]) == (
        "endpoint",
        f"{ARN}:endpoint/endpoint",
        "AllTraffic",
    )
    assert ready["Specification"] == {
        "ModelName": "model",
        "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1.0, "MinMemoryRequiredInMb": 16384},
    }
    assert "FailureReason" not in ready


def test_a_component_needs_an_in_service_component_endpoint(aws: Aws) -> None:
    aws.create_model()
    aws.create_config(model=None)
    aws.create_config("model-config", model="model")
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    aws.sagemaker.create_endpoint(EndpointName="model-endpoint", EndpointConfigName="model-config")

    with pytest.raises(ClientError) as creating:
        aws.create_component("component")
    with pytest.raises(ClientError) as missing:
        aws.create_component("component", endpoint="nope")
    wait_until(aws, lambda: aws.endpoint_status("model-endpoint") == "InService")
    with pytest.raises(ClientError) as model_based:
        aws.create_component("component", endpoint="model-endpoint")

    assert error_of(creating) == (
        "ValidationException",
        f'Endpoint "{ARN}:endpoint/endpoint" is in Creating status: inference components can only be deployed '
        "to an InService endpoint.",
    )
    assert error_of(missing) == ("ValidationException", f'Could not find endpoint "{ARN}:endpoint/nope".')
    assert error_of(model_based) == (
        "ValidationException",
        f'Endpoint "{ARN}:endpoint/model-endpoint" serves model model in variant AllTraffic: inference components '
        "need an endpoint whose production variants have no ModelName.",
    )
    assert aws.sagemaker.list_inference_components()["InferenceComponents"] == []


def test_a_component_needs_an_existing_variant_and_model(aws: Aws) -> None:
    aws.deploy_components()
    with pytest.raises(ClientError) as variant:
        aws.sagemaker.create_inference_component(
            InferenceComponentName="other",
            EndpointName="endpoint",
            VariantName="Blue",
            Specification={"ModelName": "model", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
            RuntimeConfig={"CopyCount": 1},
        )
    with pytest.raises(ClientError) as model:
        aws.sagemaker.create_inference_component(
            InferenceComponentName="other",
            EndpointName="endpoint",
            VariantName="AllTraffic",
            Specification={"ModelName": "nope", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
            RuntimeConfig={"CopyCount": 1},
        )

    assert error_of(variant) == (
        "ValidationException",
        f'Could not find variant "Blue" in endpoint "{ARN}:endpoint/endpoint".',
    )
    assert error_of(model) == ("ValidationException", f'Could not find model "{ARN}:model/nope".')


def test_compute_requirements_must_fit_the_instance_and_the_fleet(aws: Aws) -> None:
    aws.deploy_components()  # one copy holding the only A10G of the ml.g5.2xlarge

    with pytest.raises(ClientError) as too_big:
        aws.create_component("big", NumberOfAcceleratorDevicesRequired=2, MinMemoryRequiredInMb=1024)
    with pytest.raises(ClientError) as no_room:
        aws.create_component("second", NumberOfAcceleratorDevicesRequired=1, MinMemoryRequiredInMb=1024)
    with pytest.raises(ClientError) as memory:
        aws.create_component("memory", MinMemoryRequiredInMb=40000)

    assert error_of(too_big) == (
        "ValidationException",
        "The compute resource requirements ask for 2 accelerator devices per copy, but instance type ml.g5.2xlarge "
        "has 1: lower ComputeResourceRequirements or use a larger instance type.",
    )
    assert error_of(no_room) == (
        "ValidationException",
        "Insufficient capacity: 1 copies need 1 accelerator devices but endpoint endpoint has 0 free on 1 "
        "ml.g5.2xlarge instance(s): lower the copy count or add instances.",
    )
    assert error_of(memory)[1].startswith("The compute resource requirements ask for 40000 MiB of memory per copy")


def test_list_inference_components_filters(aws: Aws) -> None:
    aws.create_model()
    aws.create_config(model=None, count=2)
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    aws.create_component("alpha")
    wait_until(aws, lambda: aws.component_status("alpha") == "InService")
    aws.create_component("beta")

    def names(**filters: str) -> list[str]:
        rows = aws.sagemaker.list_inference_components(**filters)["InferenceComponents"]
        return [row["InferenceComponentName"] for row in rows]

    assert names(EndpointNameEquals="endpoint", SortBy="Name", SortOrder="Ascending") == ["alpha", "beta"]
    assert names(EndpointNameEquals="other") == []
    assert names(StatusEquals="InService") == ["alpha"]
    assert names(StatusEquals="Creating") == ["beta"]
    assert names(NameContains="lph") == ["alpha"]
    assert names(VariantNameEquals="AllTraffic", SortBy="CreationTime", SortOrder="Descending") == ["beta", "alpha"]


def test_update_runtime_config_changes_the_copy_count_after_updating(aws: Aws) -> None:
    aws.create_model()
    aws.create_config(model=None, count=2)
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    aws.create_component("component")
    wait_until(aws, lambda: aws.component_status("component") == "InService")

    aws.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="component", DesiredRuntimeConfig={"CopyCount": 2}
    )
    updating = aws.sagemaker.describe_inference_component(InferenceComponentName="component")
    wait_until(aws, lambda: aws.component_status("component") == "InService")
    updated = aws.sagemaker.describe_inference_component(InferenceComponentName="component")

    assert (updating["InferenceComponentStatus"], updating["RuntimeConfig"]) == (
        "Updating",
        {"DesiredCopyCount": 2, "CurrentCopyCount": 1},
    )
    assert updated["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}


def test_update_inference_component_swaps_the_model(aws: Aws) -> None:
    aws.deploy_components()
    aws.create_model("model-2", model_id="mistralai/Mistral-7B-Instruct-v0.3")

    aws.sagemaker.update_inference_component(
        InferenceComponentName="component",
        Specification={"ModelName": "model-2", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 8192}},
    )
    status = aws.component_status("component")
    with pytest.raises(ClientError) as busy:
        aws.sagemaker.update_inference_component(InferenceComponentName="component", RuntimeConfig={"CopyCount": 1})
    wait_until(aws, lambda: aws.component_status("component") == "InService")

    assert status == "Updating"
    assert error_of(busy) == (
        "ValidationException",
        f'Cannot update inference component "{ARN}:inference-component/component" while it is in Updating status.',
    )
    specification = aws.sagemaker.describe_inference_component(InferenceComponentName="component")["Specification"]
    assert specification["ModelName"] == "model-2"


def test_delete_component_then_endpoint_in_that_order(aws: Aws) -> None:
    aws.deploy_components()

    with pytest.raises(ClientError) as refused:
        aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    aws.sagemaker.delete_inference_component(InferenceComponentName="component")
    deleting = aws.component_status("component")
    wait_until(aws, lambda: aws.sagemaker.list_inference_components()["InferenceComponents"] == [])
    with pytest.raises(ClientError) as gone:
        aws.sagemaker.describe_inference_component(InferenceComponentName="component")
    aws.sagemaker.delete_endpoint(EndpointName="endpoint")

    assert error_of(refused) == (
        "ValidationException",
        f'Cannot delete endpoint "{ARN}:endpoint/endpoint" while it has inference components (component): '
        "delete the inference components first.",
    )
    assert deleting == "Deleting"
    assert error_of(gone) == (
        "ValidationException",
        f'Could not find inference component "{ARN}:inference-component/component".',
    )
    assert aws.endpoint_status("endpoint") == "Deleting"


def test_component_tags_work_like_moto_resources(aws: Aws) -> None:
    aws.create_model()
    aws.create_config(model=None)
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    arn = aws.sagemaker.create_inference_component(
        InferenceComponentName="component",
        EndpointName="endpoint",
        VariantName="AllTraffic",
        Specification={"ModelName": "model", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 1},
        Tags=[{"Key": "llm-engineering:endpoint", "Value": "endpoint"}],
    )["InferenceComponentArn"]

    aws.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ml"}])
    listed = aws.sagemaker.list_tags(ResourceArn=arn)["Tags"]
    aws.sagemaker.delete_tags(ResourceArn=arn, TagKeys=["llm-engineering:endpoint"])

    assert listed == [{"Key": "llm-engineering:endpoint", "Value": "endpoint"}, {"Key": "team", "Value": "ml"}]
    assert aws.sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
