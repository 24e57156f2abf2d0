"""What SageMaker refuses mid-transition, the states it enters by itself, component updates that keep serving,
and Describe answers without the members nobody set: the emulator through real HTTP."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from emulator_clients import Aws, wait_until

from llm_engineering.local import EmulatorConfig
from llm_engineering.local.faults import EmulatorConfigError, parse_config
from llm_engineering.local.server import EmulatorError, configure

ARN = "arn:aws:sagemaker:us-east-1:123456789012"
IN_PROGRESS = f'Cannot update in-progress endpoint "{ARN}:endpoint/endpoint".'


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def statuses_until(aws: Aws, final: str) -> list[str]:
    """The endpoint's statuses, in order and without repeats, until `final`."""
    seen: list[str] = []
    wait_until(aws, lambda: seen.append(aws.endpoint_status("endpoint")) or seen[-1] == final)
    return list(dict.fromkeys(seen))


def answer_of(aws: Aws, **target: str) -> str:
    body = aws.runtime.invoke_endpoint(EndpointName="endpoint", Body=b'{"inputs":"Hi"}', **target)["Body"].read()
    return json.loads(body)[0]["generated_text"]


# --- refusals mid-transition --------------------------------------------------------------------------------


def test_delete_endpoint_is_refused_while_creating_and_updating(aws: Aws) -> None:
    aws.create_model()
    aws.create_config()
    aws.create_config("config-2")
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    with pytest.raises(ClientError) as creating:
        aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="config-2")
    with pytest.raises(ClientError) as updating:
        aws.sagemaker.delete_endpoint(EndpointName="endpoint")

    assert error_of(creating) == error_of(updating) == ("ValidationException", IN_PROGRESS)
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    assert aws.endpoint_status("endpoint") == "Deleting"


def test_delete_inference_component_is_refused_while_creating_and_updating(aws: Aws) -> None:
    aws.create_model()
    aws.create_config(model=None)
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    aws.create_component("component")
    with pytest.raises(ClientError) as creating:
        aws.sagemaker.delete_inference_component(InferenceComponentName="component")
    wait_until(aws, lambda: aws.component_status("component") == "InService")
    aws.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="component", DesiredRuntimeConfig={"CopyCount": 1}
    )
    with pytest.raises(ClientError) as updating:
        aws.sagemaker.delete_inference_component(InferenceComponentName="component")

    component = f"{ARN}:inference-component/component"
    assert error_of(creating) == (
        "ValidationException",
        f'Cannot delete inference component "{component}" while it is in Creating status.',
    )
    assert error_of(updating)[1].endswith("while it is in Updating status.")
    wait_until(aws, lambda: aws.component_status("component") == "InService")
    aws.sagemaker.delete_inference_component(InferenceComponentName="component")
    assert aws.component_status("component") == "Deleting"


# --- states SageMaker enters by itself ---------------------------------------------------------------------


@pytest.mark.parametrize("state", ["SystemUpdating", "RollingBack"])
def test_maintenance_and_capacity_rollback_pass_and_refuse_delete_meanwhile(aws: Aws, state: str) -> None:
    aws.deploy()
    configure(aws.url, endpoint_states={"end*": state})

    assert aws.endpoint_status("endpoint") == state
    with pytest.raises(ClientError) as refused:
        aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    assert error_of(refused) == ("ValidationException", IN_PROGRESS)
    assert answer_of(aws).startswith("[emulated Qwen/Qwen2.5-7B-Instruct]")  # the fleet still serves
    assert statuses_until(aws, "InService") == [state, "InService"]
    assert aws.endpoint_status("endpoint") == "InService"  # once per endpoint: not entered again


@pytest.mark.parametrize("keeps_reason", [True, False])
def test_a_capacity_rollback_may_leave_its_failure_reason(aws: Aws, keeps_reason: bool) -> None:
    aws.deploy()
    configure(aws.url, endpoint_states={"endpoint": "RollingBack"}, rollback_failure_reason=keeps_reason)
    rolling = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    statuses_until(aws, "InService")
    back = aws.sagemaker.describe_endpoint(EndpointName="endpoint")

    assert rolling["FailureReason"].startswith("Failed to update the instance count of production variant AllTraffic")
    assert ("FailureReason" in back) is keeps_reason
    assert back["EndpointConfigName"] == "config"


def test_out_of_service_stays_takes_no_requests_and_can_be_deleted(aws: Aws) -> None:
    aws.deploy()
    configure(aws.url, endpoint_states={"*": "OutOfService"})

    assert aws.endpoint_status("endpoint") == "OutOfService"
    with pytest.raises(ClientError) as refused:
        answer_of(aws)
    assert error_of(refused) == ("ValidationError", "Endpoint endpoint of account 123456789012 not found.")
    with pytest.raises(ClientError) as update:
        aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    assert error_of(update) == ("ValidationException", IN_PROGRESS)
    described = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    assert "CurrentInstanceCount" not in described["ProductionVariants"][0]
    aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    wait_until(aws, lambda: not aws.sagemaker.list_endpoints()["Endpoints"])


def test_update_rollback_failed_stays_serves_and_can_be_deleted(aws: Aws) -> None:
    aws.deploy()
    configure(aws.url, endpoint_states={"endpoint": "UpdateRollbackFailed"})

    described = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    assert described["EndpointStatus"] == "UpdateRollbackFailed"
    assert "mix of the old and the new endpoint configuration" in described["FailureReason"]
    assert answer_of(aws).startswith("[emulated ")  # "in service with a mix"
    aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    wait_until(aws, lambda: not aws.sagemaker.list_endpoints()["Endpoints"])


def test_an_injected_state_waits_for_the_endpoint_to_be_in_service(aws: Aws) -> None:
    configure(aws.url, endpoint_states={"endpoint": "OutOfService"})
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    assert aws.endpoint_status("endpoint") == "Creating"
    assert statuses_until(aws, "OutOfService") == ["Creating", "OutOfService"]


def test_endpoint_states_are_validated() -> None:
    assert parse_config({"endpoint_states": {"e*": "SystemUpdating"}}).injected_state("ep") == ("e*", "SystemUpdating")
    assert EmulatorConfig().injected_state("ep") is None
    with pytest.raises(EmulatorConfigError) as refused:
        parse_config({"endpoint_states": {"*": "Broken"}})
    assert str(refused.value).startswith("Emulator configuration endpoint_states.*='Broken' is invalid: Input should")


def test_the_config_api_refuses_an_unknown_state(aws: Aws) -> None:
    with pytest.raises(EmulatorError) as refused:
        configure(aws.url, endpoint_states={"*": "Creating"})
    assert "endpoint_states.*='Creating' is invalid" in str(refused.value)


# --- component updates ---------------------------------------------------------------------------------------


def _component_with_a_second_model(aws: Aws) -> None:
    aws.deploy_components()
    aws.create_model("model-2", model_id="Qwen/Qwen2.5-1.5B-Instruct")


def _update_to_model_2(aws: Aws) -> None:
    aws.sagemaker.update_inference_component(
        InferenceComponentName="component",
        Specification={
            "ModelName": "model-2",
            "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 16384},
        },
    )


def test_a_component_update_serves_the_old_copies_until_the_new_ones_are_healthy(aws: Aws) -> None:
    _component_with_a_second_model(aws)
    _update_to_model_2(aws)

    assert aws.component_status("component") == "Updating"
    assert answer_of(aws, InferenceComponentName="component").startswith("[emulated Qwen/Qwen2.5-7B-Instruct]")
    wait_until(aws, lambda: aws.component_status("component") == "InService")
    assert answer_of(aws, InferenceComponentName="component").startswith("[emulated Qwen/Qwen2.5-1.5B-Instruct]")


def test_a_component_update_whose_copies_fail_rolls_back_and_keeps_serving(aws: Aws) -> None:
    _component_with_a_second_model(aws)
    configure(aws.url, health_check_failures={"Qwen/Qwen2.5-1.5B-Instruct": "oom"})
    _update_to_model_2(aws)

    assert answer_of(aws, InferenceComponentName="component").startswith("[emulated Qwen/Qwen2.5-7B-Instruct]")
    wait_until(aws, lambda: aws.component_status("component") == "InService")
    described = aws.sagemaker.describe_inference_component(InferenceComponentName="component")
    assert described["Specification"]["ModelName"] == "model"
    assert "did not pass the ping health check" in described["FailureReason"]
    assert answer_of(aws, InferenceComponentName="component").startswith("[emulated Qwen/Qwen2.5-7B-Instruct]")


# --- Describe answers leave out what was never set -----------------------------------------------------------


def test_describe_model_omits_what_was_never_set(aws: Aws) -> None:
    aws.create_model()
    described = aws.sagemaker.describe_model(ModelName="model")
    assert "VpcConfig" not in described and "Containers" not in described
    assert described["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "Qwen/Qwen2.5-7B-Instruct"
    assert described["EnableNetworkIsolation"] is False
    with pytest.raises(ClientError) as missing:
        aws.sagemaker.describe_model(ModelName="nope")
    assert error_of(missing)[0] == "ValidationException"


def test_describe_answers_of_a_creating_endpoint_omit_what_is_not_there_yet(aws: Aws) -> None:
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    creating = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    config = aws.sagemaker.describe_endpoint_config(EndpointConfigName="config")

    assert "FailureReason" not in creating and "DataCaptureConfig" not in creating
    assert creating["ProductionVariants"] == [
        {"VariantName": "AllTraffic", "DesiredWeight": 1.0, "DesiredInstanceCount": 1}
    ]
    assert set(config) - {"ResponseMetadata"} == {
        "EndpointConfigName",
        "EndpointConfigArn",
        "ProductionVariants",
        "CreationTime",
    }
