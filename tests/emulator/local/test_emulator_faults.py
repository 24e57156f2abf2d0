"""Failure injection: health checks with container logs, account quotas, throttling, config API and reset."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from emulator_clients import MODEL_ID, Aws, wait_until

from llm_engineering.local import EmulatorError, configure, get_config, reset
from llm_engineering.local.faults import EmulatorConfig

ENDPOINT_FAILURE = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)


def log_messages(aws: Aws, group: str) -> list[str]:
    [stream] = aws.logs.describe_log_streams(logGroupName=group)["logStreams"]
    events = aws.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
    return [event["message"] for event in events]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_successful_start_writes_tgi_startup_lines(aws: Aws) -> None:
    aws.deploy()

    group = "/aws/sagemaker/Endpoints/endpoint"
    [stream] = aws.logs.describe_log_streams(logGroupName=group)["logStreams"]
    messages = log_messages(aws, group)
    assert stream["logStreamName"].startswith("AllTraffic/i-")
    assert len(stream["logStreamName"].removeprefix("AllTraffic/i-")) == 17
    assert f'model_id: "{MODEL_ID}"' in messages[0]
    assert messages[-1].endswith("router/src/server.rs:2402: Connected")


def test_oom_health_check_failure_fails_the_endpoint_with_cuda_log_lines(aws: Aws) -> None:
    configure(aws.url, health_check_failures={MODEL_ID: "oom"})

    aws.deploy()

    described = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    assert (described["EndpointStatus"], described["FailureReason"]) == ("Failed", ENDPOINT_FAILURE)
    messages = log_messages(aws, "/aws/sagemaker/Endpoints/endpoint")
    assert any(
        line.startswith("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.32 GiB. GPU 0 has a total "
                        "capacity of 22.09 GiB")
        for line in messages
    )  # fmt: skip
    assert not any(line.endswith("Connected") for line in messages)


def test_gated_failure_matches_the_endpoint_name_and_logs_the_hub_refusal(aws: Aws) -> None:
    configure(aws.url, health_check_failures={"end*": "gated"})

    aws.deploy()

    assert aws.endpoint_status("endpoint") == "Failed"
    messages = log_messages(aws, "/aws/sagemaker/Endpoints/endpoint")
    assert any(line.startswith("huggingface_hub.errors.GatedRepoError: 401 Client Error.") for line in messages)
    assert (
        f"Access to model {MODEL_ID} is restricted. You must have access to it and be authenticated to access it. "
        "Please log in."
    ) in messages


def test_timeout_failure_leaves_the_container_downloading(aws: Aws) -> None:
    configure(aws.url, health_check_failures={"*": "timeout"})

    aws.deploy()

    messages = log_messages(aws, "/aws/sagemaker/Endpoints/endpoint")
    assert aws.endpoint_status("endpoint") == "Failed"
    assert messages[-1].endswith("Download file: model-00002-of-00004.safetensors")


def test_component_health_check_failure_uses_the_components_wording_and_log_group(aws: Aws) -> None:
    configure(aws.url, health_check_failures={"component": "oom"})

    aws.deploy_components()

    described = aws.sagemaker.describe_inference_component(InferenceComponentName="component")
    assert (described["InferenceComponentStatus"], described["FailureReason"]) == (
        "Failed",
        "The container for inference component component did not pass the ping health check. "
        "Please check CloudWatch logs for this inference component.",
    )
    assert aws.endpoint_status("endpoint") == "InService"
    messages = log_messages(aws, "/aws/sagemaker/InferenceComponents/component")
    assert any(line.startswith("torch.OutOfMemoryError") for line in messages)
    with pytest.raises(ClientError) as excinfo:
        aws.runtime.invoke_endpoint(
            EndpointName="endpoint", Body=b'{"inputs":"Hi"}', InferenceComponentName="component"
        )
    assert error_of(excinfo) == ("ValidationError", "Inference Component component not found.")


@pytest.mark.parametrize("keeps_reason", [True, False])
def test_a_failed_update_rolls_back_to_the_old_config(aws: Aws, keeps_reason: bool) -> None:
    aws.deploy()
    aws.create_model("broken", model_id="meta-llama/Llama-3.1-8B-Instruct")
    aws.create_config("config-2", model="broken")
    configure(aws.url, health_check_failures={"meta-llama/*": "gated"}, rollback_failure_reason=keeps_reason)

    aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="config-2")
    seen = ["Updating"]
    wait_until(aws, lambda: seen.append(aws.endpoint_status("endpoint")) or seen[-1] == "InService")

    assert list(dict.fromkeys(seen)) == ["Updating", "RollingBack", "InService"]
    described = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    assert described["EndpointConfigName"] == "config"
    if keeps_reason:
        assert described["FailureReason"] == (
            "Failed to update endpoint: the new production variant AllTraffic did not pass the ping health check; "
            "the endpoint was rolled back to endpoint configuration config."
        )
    else:  # SageMaker may leave it empty: only the config name tells
        assert "FailureReason" not in described


def test_quota_refuses_create_endpoint_with_awss_wording(aws: Aws) -> None:
    configure(aws.url, quotas={"ml.g5.2xlarge": 0})
    aws.create_model()
    aws.create_config()

    with pytest.raises(ClientError) as excinfo:
        aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")

    assert error_of(excinfo) == (
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.g5.2xlarge for endpoint usage' is 0 Instances, with current "
        "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request "
        "an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an "
        "increase for this quota.",
    )
    assert aws.sagemaker.list_endpoints()["Endpoints"] == []


def test_quota_counts_instances_in_use_for_create_and_update(aws: Aws) -> None:
    configure(aws.url, quotas={"ml.g5.2xlarge": 2})
    aws.deploy()
    aws.create_config("config-2", count=2)

    with pytest.raises(ClientError) as create:
        aws.sagemaker.create_endpoint(EndpointName="second", EndpointConfigName="config-2")
    with pytest.raises(ClientError) as update:
        aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="config-2")

    assert error_of(create)[1].startswith(
        "The account-level service limit 'ml.g5.2xlarge for endpoint usage' is 2 Instances, with current "
        "utilization of 1 Instances and a request delta of 2 Instances."
    )
    assert error_of(update)[0] == "ResourceLimitExceeded"
    assert aws.endpoint_status("endpoint") == "InService"


def test_failed_endpoints_release_their_quota(aws: Aws) -> None:
    configure(aws.url, quotas={"ml.g5.2xlarge": 1}, health_check_failures={"endpoint": "oom"})
    aws.deploy()
    aws.sagemaker.create_endpoint(EndpointName="second", EndpointConfigName="config")

    assert aws.endpoint_status("second") == "Creating"


def test_throttling_hits_the_configured_fraction_repeatably(aws: Aws) -> None:
    def outcomes() -> list[str]:
        results = []
        for _ in range(200):
            try:
                aws.sagemaker.list_endpoints()
                results.append("ok")
            except ClientError as error:
                assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
                results.append(f"{error.response['Error']['Code']}: {error.response['Error']['Message']}")
        return results

    configure(aws.url, throttle_rate=0.25, throttle_seed=42)
    first = outcomes()
    configure(aws.url, throttle_rate=0.25, throttle_seed=42)
    second = outcomes()

    throttled = first.count("ThrottlingException: Rate exceeded")
    assert throttled + first.count("ok") == 200
    assert 30 <= throttled <= 70
    assert first == second


def test_throttling_also_hits_the_runtime_and_retries_get_through(aws: Aws) -> None:
    aws.deploy()
    configure(aws.url, throttle_rate=1.0)
    with pytest.raises(ClientError) as excinfo:
        aws.runtime.invoke_endpoint(EndpointName="endpoint", Body=b'{"inputs":"Hi"}')
    configure(aws.url, throttle_rate=0.5, throttle_seed=1)  # with seed 1: throttled, then not
    patient = aws.client("sagemaker", retries={"mode": "standard", "total_max_attempts": 3})

    described = patient.describe_endpoint(EndpointName="endpoint")

    assert error_of(excinfo) == ("ThrottlingException", "Rate exceeded")
    assert (described["EndpointStatus"], described["ResponseMetadata"]["RetryAttempts"]) == ("InService", 1)


def test_config_api_merges_validates_and_reset_restores_the_start_config(aws: Aws) -> None:
    reset(aws.url)  # the start configuration, without the fixture's long transitions
    start = get_config(aws.url)

    merged = configure(aws.url, quotas={"ml.g5.2xlarge": 0}, default_quota=5)
    again = configure(aws.url, throttle_seed=3)
    with pytest.raises(EmulatorError) as refused:
        configure(aws.url, transition_seconds=-1)
    with pytest.raises(EmulatorError) as unknown:
        configure(aws.url, helth_check_failures={"*": "oom"})
    kept = get_config(aws.url)
    reset(aws.url)

    assert start == EmulatorConfig(transition_seconds=0.2, token_delay_seconds=0).model_dump()
    assert (merged["quotas"], merged["default_quota"]) == ({"ml.g5.2xlarge": 0}, 5)
    assert (again["quotas"], again["throttle_seed"]) == ({"ml.g5.2xlarge": 0}, 3)
    assert str(refused.value).startswith(
        "The emulator refused the request: Emulator configuration transition_seconds=-1 is invalid: "
        "Input should be greater than or equal to 0."
    )
    assert "helth_check_failures" in str(unknown.value)
    assert kept == again
    assert get_config(aws.url) == start


def test_config_api_refuses_non_json(aws: Aws) -> None:
    request = urllib.request.Request(f"{aws.url}/_emulator/config", data=b"nope", method="POST")
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request)

    assert excinfo.value.code == 400
    assert json.loads(excinfo.value.read()) == {
        "error": "The body is not JSON: POST a JSON object of emulator options."
    }


def test_reset_forgets_endpoints_components_and_moto_resources(aws: Aws) -> None:
    aws.deploy_components()

    reset(aws.url)

    assert aws.sagemaker.list_endpoints()["Endpoints"] == []
    assert aws.sagemaker.list_inference_components()["InferenceComponents"] == []
    assert aws.sagemaker.list_models()["Models"] == []
    assert aws.logs.describe_log_groups()["logGroups"] == []
