"""The emulator driven by clients this project does not own: sagemaker-core's resources (the SageMaker Python
SDK v3) and botocore's own waiters, on both endpoint types. If the emulator answers a shape or a state those
clients cannot read, these fail, whatever the tool's own code accepts."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, WaiterError
from emulator_clients import MODEL_ID, ROLE_ARN, Aws, wait_until

from llm_engineering.local.server import configure

WAITER = {"Delay": 0.1, "MaxAttempts": 100}


@pytest.fixture(autouse=True)
def real_time_transitions(aws: Aws) -> None:
    """sagemaker-core and botocore's waiters sleep in real time between their polls: here transitions take the
    session emulator's 0.2 s, and these clients' own attempts bound the wait."""
    configure(aws.url, transition_seconds=0.2)


@pytest.fixture
def core(aws: Aws, server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """sagemaker.core.resources, its clients pointed at the emulator the way any boto3 client is."""
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from sagemaker.core import resources

    return resources


@pytest.fixture
def session(core: Any) -> boto3.Session:
    return boto3.Session(region_name="us-east-1")


def test_sagemaker_core_reads_a_model_based_endpoint_through_its_life(aws: Aws, core: Any, session: Any) -> None:
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")

    endpoint = core.Endpoint.get("endpoint", session=session)
    assert endpoint.endpoint_status in {"Creating", "InService"}
    endpoint.wait_for_status("InService", poll=1, timeout=30)
    assert endpoint.endpoint_status == "InService"
    assert [summary.endpoint_name for summary in core.Endpoint.get_all(session=session)] == ["endpoint"]
    config = core.EndpointConfig.get("config", session=session)
    assert config.production_variants[0].model_name == "model"
    model = core.Model.get("model", session=session)
    assert model.primary_container.environment["HF_MODEL_ID"] == MODEL_ID
    assert model.execution_role_arn == ROLE_ARN

    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=30)
    assert list(core.Endpoint.get_all(session=session)) == []


def test_sagemaker_core_reads_an_inference_component_endpoint(aws: Aws, core: Any, session: Any) -> None:
    aws.deploy_components()

    config = core.EndpointConfig.get("config", session=session)
    assert config.execution_role_arn == ROLE_ARN
    endpoint = core.Endpoint.get("endpoint", session=session)
    assert endpoint.endpoint_status == "InService"
    component = core.InferenceComponent.get("component", session=session)
    component.wait_for_status("InService", poll=1, timeout=30)
    assert (component.endpoint_name, component.specification.model_name) == ("endpoint", "model")
    assert component.runtime_config.current_copy_count == 1
    listed = core.InferenceComponent.get_all(endpoint_name_equals="endpoint", session=session)
    assert [item.inference_component_name for item in listed] == ["component"]

    aws.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="component", DesiredRuntimeConfig={"CopyCount": 1}
    )
    component.refresh()
    assert component.inference_component_status == "Updating"
    component.wait_for_status("InService", poll=1, timeout=30)


def test_sagemaker_core_sees_a_failed_endpoint_fail(aws: Aws, core: Any, session: Any) -> None:
    from sagemaker.core.utils.exceptions import FailedStatusError

    configure(aws.url, health_check_failures={"endpoint": "oom"})
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")

    endpoint = core.Endpoint.get("endpoint", session=session)
    with pytest.raises(FailedStatusError):
        endpoint.wait_for_status("InService", poll=1, timeout=30)
    assert "did not pass the ping health check" in endpoint.failure_reason


def test_botocores_waiters_see_in_service_and_deleted(aws: Aws) -> None:
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")

    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="endpoint", WaiterConfig=WAITER)
    assert aws.endpoint_status("endpoint") == "InService"
    aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    aws.sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="endpoint", WaiterConfig=WAITER)
    assert aws.sagemaker.list_endpoints()["Endpoints"] == []


def test_botocores_in_service_waiter_stops_on_a_failed_endpoint(aws: Aws) -> None:
    configure(aws.url, health_check_failures={"endpoint": "gated"})
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")

    with pytest.raises(WaiterError) as failed:
        aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="endpoint", WaiterConfig=WAITER)
    assert "Waiter encountered a terminal failure state" in str(failed.value)


def test_botocores_waiters_on_an_inference_component_endpoint(aws: Aws) -> None:
    aws.deploy_components()
    aws.sagemaker.delete_inference_component(InferenceComponentName="component")
    with pytest.raises(ClientError) as refused:  # its component is still being deleted
        aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="endpoint", WaiterConfig=WAITER)
    wait_until(aws, lambda: not aws.sagemaker.list_inference_components()["InferenceComponents"])
    aws.sagemaker.delete_endpoint(EndpointName="endpoint")
    aws.sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="endpoint", WaiterConfig=WAITER)
