"""The client per engine: each engine's request shapes and answers, and the engine learnt from the endpoint's tags
(only when a container refuses a request in another engine's words, once per client)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from client_fakes import FakeSageMaker, control_error, json_reply, payload_part, runtime_error, sse, stream_reply

from llm_engineering.aws import connect
from llm_engineering.inference.client import InferenceClient, ModelInvocationError
from llm_engineering.inference.parameters import GenerationParameters
from llm_engineering.inference.protocols import SGLANG, VLLM, openai_chat, openai_completion

ENDPOINT = "llm-endpoint"
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"
PARAMS = GenerationParameters(max_new_tokens=8)
MESSAGES = [{"role": "user", "content": "Hi"}]
VLLM_400 = {
    "error": {
        "message": "Cannot find suitable handler for request. Expected one of: ['ChatCompletionRequest', "
        "'CompletionRequest']",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
}
SGLANG_400 = {"object": "error", "message": "1 validation error", "type": "Bad Request", "param": None, "code": 400}
TGI_422 = '{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}'


def test_openai_requests_map_the_generation_parameters():
    params = GenerationParameters(max_new_tokens=8, top_k=40, repetition_penalty=1.1, stop=("\n",), seed=3)
    assert openai_completion("Once", params, stream=False) == {
        "prompt": "Once",
        "max_tokens": 8,
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 40,
        "repetition_penalty": 1.1,
        "stop": ["\n"],
        "seed": 3,
        "stream": False,
    }
    greedy = GenerationParameters(max_new_tokens=8, do_sample=False, top_k=40, return_full_text=True)
    assert openai_completion("Once", greedy, stream=True) == {
        "prompt": "Once",
        "max_tokens": 8,
        "echo": True,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert openai_chat(MESSAGES, greedy, stream=False) == {
        "messages": MESSAGES,
        "max_tokens": 8,
        "temperature": 0,
        "stream": False,
    }  # chat has no echo: return_full_text is named as not sent
    assert VLLM.notes(True, ["return_full_text", "top_k"]) == ["vLLM's chat API has no return_full_text: not sent"]
    assert SGLANG.build(False, "Once", PARAMS, stream=False)["messages"] == [{"role": "user", "content": "Once"}]
    assert SGLANG.notes(False, [])[0].startswith("SGLang's /invocations serves chat completions only")


def stubbed_client(engine: str) -> tuple[InferenceClient, Stubber]:
    aws = connect("us-east-1")
    runtime = aws.client("sagemaker-runtime")
    return InferenceClient(runtime, ENDPOINT, engine=engine, engine_confirmed=True), Stubber(runtime)


def _body(answer: Any) -> dict[str, Any]:
    raw = json.dumps(answer).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


@pytest.mark.parametrize(
    ("engine", "sent", "answer"),
    [
        (
            "vllm",
            b'{"prompt": "Hi", "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "stream": false}',
            {"choices": [{"index": 0, "text": " there", "finish_reason": "length"}], "usage": {"completion_tokens": 8}},
        ),
        (
            "sglang",
            b'{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, '
            b'"stream": false}',
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": " there"}, "finish_reason": "length"}
                ],
                "usage": {"completion_tokens": 8, "reasoning_tokens": 0},
            },
        ),
    ],
)
def test_generate_speaks_the_engines_api_and_reads_its_counts(engine, sent, answer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client, stub = stubbed_client(engine)
    expected = {"EndpointName": ENDPOINT, "Body": sent, "ContentType": "application/json"}
    with stub:
        stub.add_response("invoke_endpoint", _body(answer), expected)  # validated against botocore's model
        completion = client.generate("Hi", PARAMS)
        stub.assert_no_pending_responses()
    assert (completion.text, completion.stats.tokens, completion.stats.finish_reason) == (" there", 8, "length")


def http_client(engine: str = "tgi", component: str | None = None) -> InferenceClient:
    aws = connect("us-east-1")
    return InferenceClient(
        aws.client("sagemaker-runtime"), ENDPOINT, component, control=lambda: aws.client("sagemaker"), engine=engine
    )


def refused(body: Any, status: int = 400) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    return runtime_error(
        "ModelError", f"Received client error ({status})", 424, OriginalStatusCode=status, OriginalMessage=text
    )


def tags(engine: str) -> Any:
    return json_reply(
        {
            "Tags": [
                {"Key": "llm-engineering:managed-by", "Value": "llm-engineering"},
                {"Key": "llm-engineering:engine", "Value": engine},
            ]
        }
    )


DESCRIBED = json_reply(
    {
        "EndpointName": ENDPOINT,
        "EndpointArn": ENDPOINT_ARN,
        "EndpointStatus": "InService",
        "CreationTime": 1,
        "LastModifiedTime": 1,
    }
)
COMPLETION = {"choices": [{"index": 0, "text": " there", "finish_reason": "stop"}], "usage": {"completion_tokens": 2}}


def test_a_vllm_endpoint_refusing_tgis_request_is_learnt_from_its_tags_once(fake: FakeSageMaker) -> None:
    fake.queue(refused(VLLM_400), DESCRIBED, tags("vllm"), json_reply(COMPLETION), json_reply(COMPLETION))
    client = http_client()
    assert client.generate("Hi", PARAMS).text == " there"
    assert client.generate("Hi again", PARAMS).stats.tokens == 2  # no lookup: the engine is known now
    assert [request.operation for request in fake.requests] == [
        "invocations",
        "SageMaker.DescribeEndpoint",
        "SageMaker.ListTags",
        "invocations",
        "invocations",
    ]
    assert "inputs" in fake.requests[0].json() and fake.requests[3].json()["prompt"] == "Hi"
    assert fake.requests[2].json() == {"ResourceArn": ENDPOINT_ARN, "MaxResults": 100}
    assert client.engine == "vllm"


def test_a_component_is_asked_for_its_own_tags(fake: FakeSageMaker) -> None:
    component = {
        "InferenceComponentName": "ic",
        "InferenceComponentArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic",
        "EndpointName": ENDPOINT,
        "EndpointArn": ENDPOINT_ARN,
        "InferenceComponentStatus": "InService",
        "CreationTime": 1,
        "LastModifiedTime": 1,
    }
    chat = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Yo"}, "finish_reason": "stop"}]}
    fake.queue(refused(SGLANG_400), json_reply(component), tags("sglang"), json_reply(chat))
    client = http_client(component="ic")
    assert client.generate("Hi", PARAMS).text == "Yo"
    assert [request.operation for request in fake.requests][1:3] == [
        "SageMaker.DescribeInferenceComponent",
        "SageMaker.ListTags",
    ]
    assert fake.requests[3].json()["messages"] == [{"role": "user", "content": "Hi"}]


def test_a_refusal_in_the_engines_own_words_is_not_a_reason_to_look(fake: FakeSageMaker) -> None:
    fake.queue(refused(TGI_422, 422))
    with pytest.raises(ModelInvocationError, match="rejected the request \\(HTTP 422\\)"):
        http_client().generate("Hi", PARAMS)
    assert len(fake.requests) == 1


def test_unreadable_tags_leave_the_containers_refusal_and_are_not_asked_again(fake: FakeSageMaker) -> None:
    fake.queue(refused(VLLM_400), control_error("AccessDeniedException", "not authorized to DescribeEndpoint"))
    fake.queue(refused(VLLM_400))
    client = http_client()
    with pytest.raises(ModelInvocationError) as caught:
        client.generate("Hi", PARAMS)
    assert "Cannot find suitable handler for request" in str(caught.value)
    with pytest.raises(ModelInvocationError):
        client.generate("Hi", PARAMS)
    assert [request.operation for request in fake.requests] == [
        "invocations",
        "SageMaker.DescribeEndpoint",
        "invocations",
    ]


def test_a_vllm_stream_is_read_with_its_usage_chunk(fake: FakeSageMaker) -> None:
    head = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m"}
    events = sse(
        {**head, "choices": [{"index": 0, "text": " the", "finish_reason": None}]},
        {**head, "choices": [{"index": 0, "text": "re", "finish_reason": "length"}]},
        {**head, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
        "[DONE]",
    )
    fake.queue(stream_reply([payload_part(events)]))
    with http_client("vllm").stream_text("Hi", PARAMS) as pieces:
        assert list(pieces) == [" the", "re"]
    assert (pieces.stats.tokens, pieces.stats.finish_reason) == (2, "length")
    assert fake.requests[0].json()["stream_options"] == {"include_usage": True}
