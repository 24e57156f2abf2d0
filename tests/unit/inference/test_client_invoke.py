"""InferenceClient requests and errors: botocore's Stubber for exact parameters, a fake SageMaker over HTTP
for streams, retries and timeouts (the real serializer, event-stream decoder and retry handler run)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from client_fakes import (
    FakeSageMaker,
    chat_events,
    generate_events,
    json_reply,
    payload_part,
    runtime_error,
    split,
    sse,
    stream_exception,
    stream_reply,
)

from llm_engineering.aws import MAX_ATTEMPTS, connect
from llm_engineering.errors import AwsRequestError
from llm_engineering.inference.client import (
    EndpointNotFoundError,
    EndpointNotReadyError,
    InferenceClient,
    InferenceComponentError,
    InferenceTimeoutError,
    ModelInvocationError,
    ThrottledError,
    UnexpectedResponseError,
    fail_fast_on_read_timeouts,
)
from llm_engineering.inference.parameters import GenerationParameters
from llm_engineering.inference.streaming import ModelStreamFailure

ENDPOINT = "llm-endpoint"
PARAMS = GenerationParameters(max_new_tokens=8)
GENERATE_BODY = (
    b'{"inputs": "Hi", "parameters": {"max_new_tokens": 8, "do_sample": true, "temperature": 0.7, "top_p": 0.9, '
    b'"return_full_text": false, "details": true}, "stream": false}'
)
CHAT_BODY = (
    b'{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, '
    b'"stream": false}'
)
HEADER_REQUIRED = (
    "Inference Component Name header is required for endpoints to which you plan to deploy inference components. "
    "Please include Inference Component Name header or consider using SageMaker models."
)
TGI_422 = '{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}'


@dataclass
class Stubbed:
    client: InferenceClient
    runtime: Stubber
    control: Stubber


@pytest.fixture(scope="module")
def aws_clients() -> tuple[Any, Any]:
    """Runtime and control-plane clients built by llm_engineering.aws, once: the SageMaker model is big."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        aws = connect("us-east-1")
        return aws.client("sagemaker-runtime", read_timeout=30), aws.client("sagemaker")


@pytest.fixture
def stubbed(aws_clients: tuple[Any, Any]) -> Iterator[Stubbed]:
    """A client whose runtime and control-plane clients are stubbed (nothing leaves the process)."""
    runtime, control = aws_clients
    client = InferenceClient(runtime, ENDPOINT, control=lambda: control, read_timeout=30)
    with Stubber(runtime) as runtime_stub, Stubber(control) as control_stub:
        yield Stubbed(client, runtime_stub, control_stub)
        runtime_stub.assert_no_pending_responses()
        control_stub.assert_no_pending_responses()


def _body(answer: Any) -> dict[str, Any]:
    raw = json.dumps(answer).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


def _expect(body: bytes, component: str | None = None) -> dict[str, Any]:
    params = {"EndpointName": ENDPOINT, "Body": body, "ContentType": "application/json"}
    if component:
        params["InferenceComponentName"] = component
    return params


def _component(name: str, status: str = "InService") -> dict[str, Any]:
    return {
        "InferenceComponentName": name,
        "InferenceComponentArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{name}",
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
        "VariantName": "AllTraffic",
        "InferenceComponentStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
    }


def _endpoint(status: str, reason: str | None = None) -> dict[str, Any]:
    description = {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
        "EndpointStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
    }
    if reason:
        description["FailureReason"] = reason
    return description


# --- Plain requests (Stubber) ----------------------------------------------------------------------------


def test_generate_text_sends_the_exact_request(stubbed: Stubbed) -> None:
    answer = [{"generated_text": " Paris.", "details": {"finish_reason": "eos_token", "generated_tokens": 3}}]
    stubbed.runtime.add_response("invoke_endpoint", _body(answer), _expect(GENERATE_BODY))
    assert stubbed.client.generate_text("Hi", PARAMS) == " Paris."


def test_generate_reports_tokens_and_finish_reason(stubbed: Stubbed) -> None:
    answer = [{"generated_text": "x", "details": {"finish_reason": "length", "generated_tokens": 8}}]
    stubbed.runtime.add_response("invoke_endpoint", _body(answer), _expect(GENERATE_BODY))
    stubbed.client.clock = iter([10.0, 12.0]).__next__
    completion = stubbed.client.generate("Hi", PARAMS)
    assert (completion.stats.tokens, completion.stats.seconds, completion.stats.finish_reason) == (8, 2.0, "length")
    assert completion.stats.time_to_first_token is None


def test_chat_names_the_component_and_reads_the_openai_answer(stubbed: Stubbed) -> None:
    stubbed.client.component_name = "llm-endpoint-ic"
    answer = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }
    stubbed.runtime.add_response("invoke_endpoint", _body(answer), _expect(CHAT_BODY, "llm-endpoint-ic"))
    completion = stubbed.client.chat([{"role": "user", "content": "Hi"}], PARAMS)
    assert (completion.text, completion.stats.tokens, completion.stats.finish_reason) == ("Hello!", 3, "stop")


def test_model_error_shows_the_containers_own_message(stubbed: Stubbed) -> None:
    stubbed.runtime.add_client_error(
        "invoke_endpoint",
        "ModelError",
        f'Received client error (422) from primary with message "{TGI_422}". See https://logs in account 1.',
        424,
        expected_params=_expect(GENERATE_BODY),
        modeled_fields={"OriginalStatusCode": 422, "OriginalMessage": TGI_422, "LogStreamArn": "arn:log"},
    )
    with pytest.raises(ModelInvocationError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "The model container on endpoint 'llm-endpoint' rejected the request (HTTP 422): "
        "Input validation error: `temperature` must be strictly positive. Fix it and retry."
    )


def test_model_failure_points_at_the_logs(stubbed: Stubbed) -> None:
    stubbed.runtime.add_client_error(
        "invoke_endpoint",
        "ModelError",
        "Received server error (500) from primary.",
        424,
        modeled_fields={"OriginalStatusCode": 500, "OriginalMessage": "CUDA error\nillegal memory access"},
    )
    with pytest.raises(ModelInvocationError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "The model container on endpoint 'llm-endpoint' failed (HTTP 500): CUDA error illegal memory access. "
        "See its logs: CloudWatch log group /aws/sagemaker/Endpoints/llm-endpoint."
    )


def _not_found(stubbed: Stubbed) -> None:
    stubbed.runtime.add_client_error(
        "invoke_endpoint", "ValidationError", f"Endpoint {ENDPOINT} of account 123456789012 not found.", 400
    )


def test_missing_endpoint_suggests_deploying(stubbed: Stubbed) -> None:
    _not_found(stubbed)
    stubbed.control.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}".',
        expected_params={"EndpointName": ENDPOINT},
    )
    with pytest.raises(EndpointNotFoundError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "Endpoint 'llm-endpoint' does not exist in us-east-1: deploy it with `make deploy-inference-endpoint`, "
        "or set SAGEMAKER_ENDPOINT_INFERENCE (or --endpoint-name) to an existing endpoint."
    )


def test_endpoint_check_denied_says_what_is_known(stubbed: Stubbed) -> None:
    _not_found(stubbed)
    stubbed.control.add_client_error("describe_endpoint", "AccessDeniedException", "not authorized", 400)
    with pytest.raises(EndpointNotFoundError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "SageMaker cannot invoke endpoint 'llm-endpoint' in us-east-1 (not found or not InService; DescribeEndpoint "
        "was refused: AccessDeniedException): check it in the SageMaker console, or deploy it with "
        "`make deploy-inference-endpoint`."
    )


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (
            "Creating",
            None,
            "Endpoint 'llm-endpoint' is Creating, not InService: wait until it is InService "
            "(`make deploy-inference-endpoint` waits and shows progress).",
        ),
        (
            "Failed",
            "The primary container for production variant AllTraffic did not pass the ping health check.",
            "Endpoint 'llm-endpoint' is Failed, not InService (The primary container for production variant "
            "AllTraffic did not pass the ping health check): fix the cause, then redeploy with "
            "`make deploy-inference-endpoint` (or remove it with `make delete-inference-endpoint`).",
        ),
    ],
)
def test_endpoint_not_in_service_reports_its_status(
    stubbed: Stubbed, status: str, reason: str | None, message: str
) -> None:
    _not_found(stubbed)
    stubbed.control.add_response("describe_endpoint", _endpoint(status, reason), {"EndpointName": ENDPOINT})
    with pytest.raises(EndpointNotReadyError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == message


def test_component_is_discovered_after_sagemaker_asks_for_one_then_retried(stubbed: Stubbed) -> None:
    stubbed.runtime.add_client_error("invoke_endpoint", "ValidationError", HEADER_REQUIRED, 400, _expect(CHAT_BODY))
    stubbed.control.add_response(
        "list_inference_components",
        {"InferenceComponents": [_component("llm-endpoint-ic"), _component("old-ic", "Failed")]},
        {"EndpointNameEquals": ENDPOINT, "MaxResults": 100},
    )
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}]}
    stubbed.runtime.add_response("invoke_endpoint", _body(answer), _expect(CHAT_BODY, "llm-endpoint-ic"))
    assert stubbed.client.chat([{"role": "user", "content": "Hi"}], PARAMS).text == "Hi!"
    assert stubbed.client.component_name == "llm-endpoint-ic"
    # Later requests name it straight away: no second listing.
    stubbed.runtime.add_response("invoke_endpoint", _body(answer), _expect(CHAT_BODY, "llm-endpoint-ic"))
    assert stubbed.client.chat([{"role": "user", "content": "Hi"}], PARAMS).text == "Hi!"


def test_component_discovered_first_when_settings_say_inference_component(stubbed: Stubbed) -> None:
    stubbed.client.discover_component = True
    stubbed.control.add_response(
        "list_inference_components",
        {"InferenceComponents": [_component("only-ic")], "NextToken": "page2"},
        {"EndpointNameEquals": ENDPOINT, "MaxResults": 100},
    )
    stubbed.control.add_response(
        "list_inference_components",
        {"InferenceComponents": []},
        {"EndpointNameEquals": ENDPOINT, "MaxResults": 100, "NextToken": "page2"},
    )
    answer = [{"generated_text": "ok"}]
    stubbed.runtime.add_response("invoke_endpoint", _body(answer), _expect(GENERATE_BODY, "only-ic"))
    assert stubbed.client.generate_text("Hi", PARAMS) == "ok"


def test_several_components_ask_the_user_to_choose(stubbed: Stubbed) -> None:
    stubbed.client.discover_component = True
    stubbed.control.add_response(
        "list_inference_components", {"InferenceComponents": [_component("a-ic"), _component("b-ic")]}
    )
    with pytest.raises(InferenceComponentError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "Endpoint 'llm-endpoint' hosts several inference components (a-ic (InService), b-ic (InService)): "
        "set SAGEMAKER_INFERENCE_COMPONENT_NAME or pass --component to choose one."
    )


def test_component_endpoint_without_components(stubbed: Stubbed) -> None:
    stubbed.runtime.add_client_error("invoke_endpoint", "ValidationError", HEADER_REQUIRED, 400)
    stubbed.control.add_response("list_inference_components", {"InferenceComponents": []})
    with pytest.raises(InferenceComponentError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "Endpoint 'llm-endpoint' serves inference components but has none: deploy one with "
        "`make deploy-inference-endpoint` (ENDPOINT_TYPE=inference-component)."
    )


def test_component_required_after_discovery_found_none_explains(stubbed: Stubbed) -> None:
    stubbed.client.discover_component = True
    stubbed.control.add_response("list_inference_components", {"InferenceComponents": []})
    stubbed.runtime.add_client_error("invoke_endpoint", "ValidationError", HEADER_REQUIRED, 400, _expect(GENERATE_BODY))
    with pytest.raises(InferenceComponentError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "Endpoint 'llm-endpoint' serves inference components: set SAGEMAKER_INFERENCE_COMPONENT_NAME "
        "or pass --component with the component to invoke."
    )


def test_listing_components_denied(stubbed: Stubbed) -> None:
    stubbed.runtime.add_client_error("invoke_endpoint", "ValidationError", HEADER_REQUIRED, 400)
    stubbed.control.add_client_error("list_inference_components", "AccessDeniedException", "not authorized", 400)
    with pytest.raises(InferenceComponentError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "Cannot list the inference components of endpoint 'llm-endpoint' (AccessDeniedException): "
        "set SAGEMAKER_INFERENCE_COMPONENT_NAME or pass --component."
    )


def test_unknown_component(stubbed: Stubbed) -> None:
    stubbed.client.component_name = "typo-ic"
    stubbed.runtime.add_client_error(
        "invoke_endpoint",
        "ValidationError",
        "Inference Component typo-ic not found.",
        400,
        _expect(GENERATE_BODY, "typo-ic"),
    )
    with pytest.raises(InferenceComponentError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "Inference component 'typo-ic' does not exist on endpoint 'llm-endpoint': fix "
        "SAGEMAKER_INFERENCE_COMPONENT_NAME or --component (or unset both to pick the endpoint's only one)."
    )


def test_answer_that_is_not_tgi(stubbed: Stubbed) -> None:
    stubbed.runtime.add_response("invoke_endpoint", _body({"predictions": [1, 2]}))
    with pytest.raises(UnexpectedResponseError) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert str(caught.value) == (
        "Endpoint 'llm-endpoint' answered something that is not a TGI response (\"{'predictions': [1, 2]}\"): "
        "check that it runs the Hugging Face TGI container."
    )


def test_other_aws_errors_pass_through_for_the_script_runner(stubbed: Stubbed) -> None:
    stubbed.runtime.add_client_error("invoke_endpoint", "AccessDeniedException", "no invoke for you", 400)
    with pytest.raises(Exception) as caught:
        stubbed.client.generate_text("Hi", PARAMS)
    assert not isinstance(caught.value, AwsRequestError)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


# --- Over HTTP: streams, retries, timeouts -----------------------------------------------------------------


def _http_client(read_timeout: float = 30, component: str | None = None) -> InferenceClient:
    aws = connect("us-east-1")
    runtime = aws.client("sagemaker-runtime", read_timeout=read_timeout)
    fail_fast_on_read_timeouts(runtime)
    return InferenceClient(
        runtime, ENDPOINT, component, control=lambda: aws.client("sagemaker"), read_timeout=read_timeout
    )


def test_stream_request_on_the_wire_and_pieces(fake: FakeSageMaker) -> None:
    data = sse(*generate_events(["Bon", "jour", " à", " 漢", "😀"]))
    fake.queue(stream_reply([payload_part(part) for part in split(data, 5, 150, 1, 1, 2, 40)]))
    client = _http_client(component="llm-endpoint-ic")
    with client.stream_text("Hi", PARAMS) as pieces:
        assert list(pieces) == ["Bon", "jour", " à", " 漢", "😀"]
    assert pieces.stats.tokens == 5
    [request] = fake.requests
    assert request.path == "/endpoints/llm-endpoint/invocations-response-stream"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-amzn-sagemaker-inference-component"] == "llm-endpoint-ic"
    assert request.body == GENERATE_BODY.replace(b'"stream": false', b'"stream": true')


def test_chat_stream_over_http(fake: FakeSageMaker) -> None:
    data = sse(*chat_events(["Sa", "lut", " !"]))
    fake.queue(stream_reply([payload_part(part) for part in split(data, 3, 300)]))
    pieces = _http_client().stream_chat([{"role": "user", "content": "Hi"}], PARAMS)
    assert list(pieces) == ["Sa", "lut", " !"]
    assert "x-amzn-sagemaker-inference-component" not in fake.requests[0].headers
    assert fake.requests[0].json()["messages"] == [{"role": "user", "content": "Hi"}]


def test_model_stream_error_mid_answer(fake: FakeSageMaker) -> None:
    data = sse(*generate_events(["Hel", "lo"]))
    first_event = data[: data.index(b"\n\n") + 2]
    fake.queue(stream_reply([payload_part(first_event), stream_exception("ModelStreamError", "Worker died.")]))
    pieces = _http_client().stream_text("Hi", PARAMS)
    received = []
    with pytest.raises(ModelStreamFailure) as caught:
        received.extend(pieces)
    assert received == ["Hel"]
    assert caught.value.partial_text == "Hel"
    assert str(caught.value) == (
        "The model on endpoint 'llm-endpoint' failed mid-answer: Worker died. "
        "Retry; if it persists, check the container logs in CloudWatch."
    )


def test_stream_refused_before_it_starts(fake: FakeSageMaker) -> None:
    fake.queue(
        runtime_error("ModelError", "Received client error (422)", 424, OriginalStatusCode=422, OriginalMessage=TGI_422)
    )
    with pytest.raises(ModelInvocationError) as caught:
        _http_client().stream_text("Hi", PARAMS)
    assert "Input validation error: `temperature` must be strictly positive" in str(caught.value)
    assert len(fake.requests) == 1


def test_throttling_is_retried_with_backoff_then_reported(fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append))
    fake.queue(*[runtime_error("ThrottlingException", "Rate exceeded", 400)] * MAX_ATTEMPTS)
    with pytest.raises(ThrottledError) as caught:
        _http_client().generate_text("Hi", PARAMS)
    assert len(fake.requests) == MAX_ATTEMPTS
    assert len(delays) == MAX_ATTEMPTS - 1
    assert str(caught.value) == (
        "SageMaker throttled every attempt to invoke endpoint 'llm-endpoint' (ThrottlingException): "
        "wait a minute and retry, or request a higher invocation quota in Service Quotas."
    )


def test_throttling_then_success(fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda _: None))
    fake.queue(runtime_error("ThrottlingException", "Rate exceeded"), json_reply([{"generated_text": "ok"}]))
    assert _http_client().generate_text("Hi", PARAMS) == "ok"
    assert [request.body for request in fake.requests] == [GENERATE_BODY, GENERATE_BODY]


def test_read_timeout_is_final_not_retried(fake: FakeSageMaker) -> None:
    fake.queue(json_reply([{"generated_text": "too late"}]))
    fake.queue(json_reply([{"generated_text": "too late"}]))
    fake._replies[0].delay = fake._replies[1].delay = 1.0
    with pytest.raises(InferenceTimeoutError) as caught:
        _http_client(read_timeout=0.2).generate_text("Hi", PARAMS)
    assert len(fake.requests) == 1
    assert str(caught.value) == (
        "Endpoint 'llm-endpoint' did not answer within 0.2 s: ask for fewer tokens (max_new_tokens) "
        "or raise INFERENCE_REQUEST_TIMEOUT."
    )
