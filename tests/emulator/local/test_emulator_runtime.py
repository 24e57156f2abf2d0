"""Invocations through boto3's sagemaker-runtime client: routes, streaming framing, SageMaker's refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError
from emulator_clients import MODEL_ID, Aws, wait_until

from llm_engineering.local import configure

LABEL = f"[emulated {MODEL_ID}]"


def invoke(aws: Aws, body: dict[str, Any], endpoint: str = "endpoint", **extra: str) -> Any:
    answer = aws.runtime.invoke_endpoint(
        EndpointName=endpoint, Body=json.dumps(body), ContentType="application/json", **extra
    )
    return answer, answer["Body"].read()


def stream(aws: Aws, body: dict[str, Any], endpoint: str = "endpoint", **extra: str) -> tuple[Any, list[bytes]]:
    answer = aws.runtime.invoke_endpoint_with_response_stream(
        EndpointName=endpoint, Body=json.dumps(body), ContentType="application/json", **extra
    )
    return answer, [event["PayloadPart"]["Bytes"] for event in answer["Body"]]


def events(raw: bytes) -> list[str]:
    """The data of each server-sent event (blank-line separated, `data:` lines)."""
    blocks = raw.decode("utf-8").split("\n\n")
    assert blocks[-1] == ""
    return [block.removeprefix("data:").strip() for block in blocks[:-1]]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_generate_answers_with_details_and_honours_max_new_tokens(aws: Aws) -> None:
    aws.deploy()

    answer, body = invoke(aws, {"inputs": "What is the capital of France?", "parameters": {"details": True}})
    _, short_body = invoke(aws, {"inputs": "What is the capital of France?", "parameters": {"max_new_tokens": 3}})

    [generated] = json.loads(body)
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert generated["generated_text"].startswith(f'{LABEL} You asked: "What is the capital of France?".')
    details = generated["details"]
    assert details["finish_reason"] == "eos_token"
    assert details["generated_tokens"] == len(details["tokens"])
    assert details["tokens"][-1]["special"] is True
    assert "".join(token["text"] for token in details["tokens"] if not token["special"]) == generated["generated_text"]
    assert json.loads(short_body) == [{"generated_text": f"{LABEL} You asked:"}]


def test_generate_streams_token_events_in_payload_parts_that_ignore_event_boundaries(aws: Aws) -> None:
    aws.deploy()

    request = {"inputs": "Name a city.", "parameters": {"max_new_tokens": 5, "details": True}, "stream": True}
    answer, parts = stream(aws, request)

    raw = b"".join(parts)
    data = [json.loads(item) for item in events(raw)]
    assert answer["ContentType"] == "text/event-stream"
    assert [event["index"] for event in data] == [1, 2, 3, 4, 5]
    assert [event["generated_text"] for event in data[:-1]] == [None] * 4
    assert data[-1]["generated_text"] == "".join(event["token"]["text"] for event in data)
    assert data[-1]["details"]["finish_reason"] == "length"
    assert data[-1]["details"]["generated_tokens"] == 5
    # Parts are cut at fixed sizes (64, 300, 16, ...), not at events: some events are split across parts.
    assert [len(part) for part in parts[:3]] == [64, 300, 16]
    boundaries = {sum(len(part) for part in parts[: index + 1]) for index in range(len(parts))}
    event_ends, position = set(), 0
    while (found := raw.find(b"\n\n", position)) != -1:
        event_ends.add(found + 2)
        position = found + 2
    assert boundaries - event_ends


def test_chat_answers_a_chat_completion(aws: Aws) -> None:
    aws.deploy()

    _, body = invoke(
        aws, {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]}
    )

    answer = json.loads(body)
    assert answer["object"] == "chat.completion"
    assert answer["model"] == MODEL_ID
    [choice] = answer["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith(f'{LABEL} You asked: "Hi there".')
    assert choice["finish_reason"] == "stop"
    usage = answer["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_stream_ends_with_done_and_reassembles_to_the_plain_answer(aws: Aws) -> None:
    aws.deploy()
    request = {"messages": [{"role": "user", "content": "Hi there"}], "max_tokens": 12, "seed": 7}

    _, body = invoke(aws, request)
    _, parts = stream(aws, {**request, "stream": True})

    data = events(b"".join(parts))
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks][-2:] == [None, "length"]
    streamed = "".join(chunk["choices"][0]["delta"]["content"] for chunk in chunks)
    assert streamed == json.loads(body)["choices"][0]["message"]["content"]


def test_completion_route_and_stop_sequence(aws: Aws) -> None:
    aws.deploy()

    _, body = invoke(aws, {"prompt": "Paris is", "max_tokens": 30, "stop": ["asked:"]})

    answer = json.loads(body)
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["text"] == f"{LABEL} You asked:"
    assert answer["choices"][0]["finish_reason"] == "stop"


def test_temperature_zero_is_a_model_error_carrying_tgis_422(aws: Aws) -> None:
    aws.deploy()

    with pytest.raises(ClientError) as excinfo:
        invoke(aws, {"inputs": "Hi", "parameters": {"temperature": 0}})

    original = '{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}'
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error_of(excinfo) == (
        "ModelError",
        f'Received client error (422) from primary with message "{original}". See '
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group="
        "/aws/sagemaker/Endpoints/endpoint in account 123456789012 for more information.",
    )
    assert response["OriginalStatusCode"] == 422
    assert response["OriginalMessage"] == original
    assert response["LogStreamArn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/endpoint"


def test_the_streaming_api_reports_a_container_refusal_as_model_error_too(aws: Aws) -> None:
    aws.deploy()

    with pytest.raises(ClientError) as excinfo:
        stream(aws, {"inputs": "Hi", "parameters": {"top_p": 1.0}, "stream": True})

    assert excinfo.value.response["Error"]["Code"] == "ModelError"
    assert excinfo.value.response["OriginalMessage"] == (
        '{"error":"Input validation error: `top_p` must be > 0.0 and < 1.0","error_type":"validation"}'
    )


def test_unknown_and_not_in_service_endpoints_are_refused(aws: Aws) -> None:
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")

    with pytest.raises(ClientError) as creating:
        invoke(aws, {"inputs": "Hi"})
    with pytest.raises(ClientError) as unknown:
        stream(aws, {"inputs": "Hi", "stream": True}, endpoint="nope")

    assert error_of(creating) == ("ValidationError", "Endpoint endpoint of account 123456789012 not found.")
    assert error_of(unknown) == ("ValidationError", "Endpoint nope of account 123456789012 not found.")


def test_component_endpoints_need_the_component_header(aws: Aws) -> None:
    aws.deploy_components()

    with pytest.raises(ClientError) as missing:
        invoke(aws, {"inputs": "Hi"})
    with pytest.raises(ClientError) as unknown:
        invoke(aws, {"inputs": "Hi"}, InferenceComponentName="nope")
    _, body = invoke(aws, {"inputs": "Hi", "parameters": {"max_new_tokens": 1}}, InferenceComponentName="component")
    _, parts = stream(aws, {"inputs": "Hi", "stream": True}, InferenceComponentName="component")

    assert error_of(missing) == (
        "ValidationError",
        "Inference Component Name header is required for endpoints to which you plan to deploy inference "
        "components. Please include Inference Component Name header or consider using SageMaker models.",
    )
    assert error_of(unknown) == ("ValidationError", "Inference Component nope not found.")
    assert json.loads(body) == [{"generated_text": LABEL}]
    assert json.loads(events(b"".join(parts))[0])["token"]["text"] == LABEL


def test_the_model_id_comes_from_the_model_behind_the_endpoint(aws: Aws) -> None:
    aws.deploy(model_id="mistralai/Mistral-7B-Instruct-v0.3")

    _, body = invoke(aws, {"inputs": "Hi", "parameters": {"max_new_tokens": 1}})

    assert json.loads(body) == [{"generated_text": "[emulated mistralai/Mistral-7B-Instruct-v0.3]"}]


def test_answers_are_deterministic_given_input_and_seed(aws: Aws) -> None:
    aws.deploy()

    def text(seed: int) -> str:
        _, body = invoke(aws, {"inputs": "Tell me a story", "parameters": {"seed": seed, "do_sample": True}})
        return json.loads(body)[0]["generated_text"]

    assert text(1) == text(1)
    assert len({text(seed) for seed in range(6)}) > 1


def test_an_endpoint_being_updated_keeps_serving(aws: Aws) -> None:
    aws.deploy()
    aws.create_config("config-2")
    aws.sagemaker.update_endpoint(EndpointName="endpoint", EndpointConfigName="config-2")

    _, body = invoke(aws, {"inputs": "Hi", "parameters": {"max_new_tokens": 1}})

    assert json.loads(body) == [{"generated_text": LABEL}]
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("ModelStreamError", "The TCP connection between the client and the model was reset or closed."),
        (
            "InternalStreamFailure",
            "The stream processing failed because of an unknown error, exception or failure. Try your request again.",
        ),
    ],
)
def test_a_stream_can_break_mid_way_with_sagemakers_error_events(aws: Aws, kind: str, message: str) -> None:
    aws.deploy()
    configure(aws.url, stream_error_after_tokens=2, stream_error=kind)
    answer = aws.runtime.invoke_endpoint_with_response_stream(
        EndpointName="endpoint", Body=json.dumps({"inputs": "Hi", "stream": True}), ContentType="application/json"
    )

    received = b""
    with pytest.raises(EventStreamError) as excinfo:
        for event in answer["Body"]:
            received += event["PayloadPart"]["Bytes"]

    assert [json.loads(item)["index"] for item in events(received)] == [1, 2]
    assert excinfo.value.response["Error"]["Code"] == kind
    assert excinfo.value.response["Error"]["Message"] == message


def test_the_clients_figures_are_the_ones_tgi_reports_because_it_asks(aws: Aws) -> None:
    """The emulated TGI sends details and usage only when asked: the client's token counts and finish reasons
    come from them (a client that stopped asking would count chunks instead and lose the finish reason)."""
    from llm_engineering.inference.client import InferenceClient
    from llm_engineering.inference.parameters import GenerationParameters

    aws.deploy()
    client = InferenceClient(runtime=aws.runtime, endpoint_name="endpoint")
    params = GenerationParameters(max_new_tokens=400, do_sample=False)
    plain = client.generate("Name a city.", params)
    messages = [{"role": "user", "content": "Name a city."}]
    plain_chat = client.chat(messages, params)

    streamed = client.stream_text("Name a city.", params)
    text = "".join(streamed)
    chat = client.stream_chat(messages, params)
    pieces = list(chat)

    assert text == plain.text and "".join(pieces) == plain_chat.text
    assert streamed.stats is not None and chat.stats is not None
    assert (streamed.stats.finish_reason, streamed.stats.tokens) == ("eos_token", plain.stats.tokens)
    # TGI counts the end-of-sequence token, which no chunk shows: the count is usage's, not the chunks'.
    assert (chat.stats.finish_reason, chat.stats.tokens) == ("stop", plain_chat.stats.tokens)
    assert chat.stats.tokens == len(pieces) + 1


@pytest.mark.parametrize(
    ("kind", "raised"),
    [("Truncated", None), ("CutMidFrame", None), ("NotEventStream", "ChecksumMismatch")],
)
def test_a_stream_can_end_as_a_lost_or_tampered_connection_does(aws: Aws, kind: str, raised: str | None) -> None:
    aws.deploy()
    configure(aws.url, stream_error_after_tokens=2, stream_error=kind)
    answer = aws.runtime.invoke_endpoint_with_response_stream(
        EndpointName="endpoint", Body=json.dumps({"inputs": "Hi", "stream": True}), ContentType="application/json"
    )
    received = b""
    try:
        for event in answer["Body"]:
            received += event["PayloadPart"]["Bytes"]
    except Exception as error:  # botocore's event-stream parser errors
        assert type(error).__name__ == raised
    else:
        assert raised is None
        assert [json.loads(item)["index"] for item in events(received)] == [1, 2]  # and no final event
        assert all(json.loads(item)["details"] is None for item in events(received))
