"""The emulated vLLM and SGLang containers: their APIs on /invocations, their refusals of the other engines'
requests, their start-up and failure logs, and the silent failure of a CUDA 13 image on an unsuitable host."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emulator_clients import ROLE_ARN, Aws, wait_until

from llm_engineering.local import configure, engines
from llm_engineering.local.engines.sglang import EmulatedSglang
from llm_engineering.local.engines.vllm import NO_HANDLER, EmulatedVllm

MODEL = "Qwen/Qwen2.5-7B-Instruct"
LABEL = f"[emulated {MODEL}]"
REGISTRY = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
VLLM_IMAGE = f"{REGISTRY}/huggingface-vllm:0.29.0-transformers5.15.0-gpu-py312-cu130-ubuntu24.04-v1.0"
SGLANG_IMAGE = f"{REGISTRY}/huggingface-sglang:0.5.8-transformers4.57.3-gpu-py312-cu129-ubuntu24.04"
VLLM_ENV = {"SM_VLLM_MODEL": MODEL, "SM_VLLM_TENSOR_PARALLEL_SIZE": "1", "SM_VLLM_MAX_MODEL_LEN": "4096"}
SGLANG_ENV = {"SM_SGLANG_MODEL_PATH": MODEL, "SM_SGLANG_TP_SIZE": "1", "SM_SGLANG_CONTEXT_LENGTH": "4096"}
CUDA_13_AMI = "al2023-ami-sagemaker-inference-gpu-4-1"
CHAT = {"messages": [{"role": "user", "content": "Hi there"}], "max_tokens": 50}
TGI_GENERATE = {"inputs": "Hi there", "parameters": {"max_new_tokens": 50, "details": True}}


def answer(container: Any, body: dict[str, Any]) -> tuple[int, Any]:
    reply = container.invoke(json.dumps(body).encode())
    raw = reply.read()
    if reply.content_type == "text/event-stream":
        return reply.status, [part.removeprefix("data: ") for part in raw.decode().split("\n\n") if part]
    return reply.status, json.loads(raw)


VLLM = EmulatedVllm.from_environment(VLLM_ENV)
SGLANG = EmulatedSglang.from_environment(SGLANG_ENV)


def test_vllm_answers_chat_and_completions_with_openai_shapes_and_usage():
    status, chat = answer(VLLM, CHAT)
    assert status == 200 and chat["object"] == "chat.completion" and chat["model"] == MODEL
    choice = chat["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"].startswith(LABEL)
    assert choice["finish_reason"] == "stop" and choice["stop_reason"] is None
    assert chat["usage"]["completion_tokens"] > 0 and chat["id"].startswith("chatcmpl-")
    status, completion = answer(VLLM, {"prompt": "Once upon a time", "max_tokens": 3, "echo": True})
    assert status == 200 and completion["object"] == "text_completion"
    assert completion["choices"][0]["text"] == f"Once upon a time{LABEL} You asked:"
    assert completion["choices"][0]["finish_reason"] == "length" and completion["usage"]["completion_tokens"] == 3
    assert answer(VLLM, {"prompt": "Hi"})[1]["usage"]["completion_tokens"] == 16  # vLLM's completions default


def test_vllm_streams_chat_chunks_then_usage_then_done():
    status, events = answer(VLLM, {**CHAT, "stream": True, "stream_options": {"include_usage": True}})
    assert status == 200 and events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks if chunk["choices"])
    assert text.startswith(LABEL)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    _, plain = answer(VLLM, {**CHAT, "stream": True})
    assert all("usage" not in json.loads(event) for event in plain[:-1])  # only when asked for


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (TGI_GENERATE, 400, NO_HANDLER),
        ({"messages": [], "max_tokens": 5}, 400, NO_HANDLER),
        ({**CHAT, "stream_options": {"include_usage": True}}, 400, "Stream options can only be defined when"),
        ({**CHAT, "max_tokens": 5000}, 400, "'max_tokens' or 'max_completion_tokens' is too large: 5000."),
        ({**CHAT, "temperature": -1}, 400, "temperature must be non-negative, got -1."),
        ({**CHAT, "model": "other"}, 404, "The model `other` does not exist."),
    ],
)
def test_vllm_refuses_with_its_nested_error_body(body, status, message):
    code, error = answer(VLLM, body)
    assert code == status
    assert set(error) == {"error"} and message in error["error"]["message"]
    assert error["error"]["type"] == ("NotFoundError" if status == 404 else "BadRequestError")
    assert error["error"]["code"] == status


def test_sglang_serves_chat_only_and_refuses_everything_else_with_its_flat_error():
    status, chat = answer(SGLANG, CHAT)
    assert status == 200 and chat["choices"][0]["message"]["content"].startswith(LABEL)
    assert chat["choices"][0]["matched_stop"] == 151645 and chat["usage"]["reasoning_tokens"] == 0
    for body in (TGI_GENERATE, {"prompt": "Once upon a time", "max_tokens": 5}):
        status, error = answer(SGLANG, body)
        assert status == 400
        assert error == {
            "object": "error",
            "message": "1 validation error for ChatCompletionRequest: messages: Field required",
            "type": "Bad Request",
            "param": None,
            "code": 400,
        }


def test_sglang_streams_usage_only_when_asked():
    _, plain = answer(SGLANG, {**CHAT, "stream": True})
    assert plain[-1] == "[DONE]" and all("usage" not in json.loads(event) for event in plain[:-1])
    _, counted = answer(SGLANG, {**CHAT, "stream": True, "stream_options": {"include_usage": True}})
    assert json.loads(counted[-2])["usage"]["completion_tokens"] > 0


def test_the_image_repository_chooses_the_container():
    assert engines.kind_of(VLLM_IMAGE) == "vllm" and engines.kind_of(SGLANG_IMAGE) == "sglang"
    tgi = f"{REGISTRY}/huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
    assert engines.kind_of(tgi) == "tgi" and engines.kind_of("123.dkr.ecr.x.amazonaws.com/mine:1") == "tgi"
    assert engines.model_id_of(SGLANG_IMAGE, {}, "model") == "/opt/ml/model"  # the entrypoint's default
    assert engines.model_id_of(VLLM_IMAGE, {"HF_MODEL_ID": MODEL}, "model") == MODEL  # its HF_MODEL_ID fallback


@pytest.mark.parametrize(
    ("image", "ami", "silent"),
    [
        (VLLM_IMAGE, None, True),
        (VLLM_IMAGE, "al2-ami-sagemaker-inference-gpu-2", True),
        (VLLM_IMAGE, CUDA_13_AMI, False),
        (VLLM_IMAGE, "al2-ami-sagemaker-inference-gpu-3-1", False),  # AWS's vLLM guide: the image's compat layer
        (SGLANG_IMAGE, None, True),  # CUDA 12.9: AWS records a CUDA 12.8 image failing on the default AMI
        (SGLANG_IMAGE, "al2-ami-sagemaker-inference-gpu-3-1", False),  # what AWS's DLCs pin for CUDA 12.x
        (SGLANG_IMAGE, "al2-ami-sagemaker-inference-gpu-2", False),  # a CUDA 12 driver: minor-version compatible
        (
            "r/huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04",
            None,
            False,
        ),  # no failure recorded for TGI's cu124 on the default AMI
        ("r/custom:latest", None, False),  # no CUDA in the tag: nothing to judge
    ],
)
def test_a_host_without_a_driver_for_the_images_cuda_fails_it_before_any_log(image, ami, silent):
    assert engines.fails_before_logging(image, ami) is silent


# --- Through the emulator: SageMaker in front of the engine's container ----------------------------------------


def deploy(aws: Aws, image: str, environment: dict[str, str], ami: str | None = CUDA_13_AMI) -> str:
    container = {"Image": image, "Environment": environment}
    aws.sagemaker.create_model(ModelName="model", ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container)
    variant: dict[str, Any] = {"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1}
    variant |= {"ModelName": "model"} | ({"InferenceAmiVersion": ami} if ami else {})
    aws.sagemaker.create_endpoint_config(EndpointConfigName="config", ProductionVariants=[variant])
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") != "Creating")
    return aws.endpoint_status("endpoint")


def log_text(aws: Aws, group: str) -> str:
    [stream] = aws.logs.describe_log_streams(logGroupName=group)["logStreams"]
    found = aws.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
    return "\n".join(event["message"] for event in found)


def test_a_vllm_endpoint_answers_openai_requests_and_refuses_tgis(aws: Aws) -> None:
    assert deploy(aws, VLLM_IMAGE, VLLM_ENV) == "InService"
    assert "Starting vLLM API server 0 on http://0.0.0.0:8080" in log_text(aws, "/aws/sagemaker/Endpoints/endpoint")
    reply = aws.runtime.invoke_endpoint(EndpointName="endpoint", Body=json.dumps(CHAT), ContentType="application/json")
    assert json.loads(reply["Body"].read())["choices"][0]["message"]["content"].startswith(LABEL)
    with pytest.raises(ClientError) as refused:
        aws.runtime.invoke_endpoint(
            EndpointName="endpoint", Body=json.dumps(TGI_GENERATE), ContentType="application/json"
        )
    response = refused.value.response
    assert response["Error"]["Code"] == "ModelError" and response["OriginalStatusCode"] == 400
    assert json.loads(response["OriginalMessage"])["error"]["message"] == NO_HANDLER


def test_a_cuda_13_image_on_the_default_host_fails_without_a_single_log_line(aws: Aws) -> None:
    assert deploy(aws, VLLM_IMAGE, VLLM_ENV, ami=None) == "Failed"
    described = aws.sagemaker.describe_endpoint(EndpointName="endpoint")
    assert "did not pass the ping health check" in described["FailureReason"]
    assert aws.logs.describe_log_groups()["logGroups"] == []


def test_a_cuda_13_component_on_the_default_host_fails_without_logs_too(aws: Aws) -> None:
    container = {"Image": VLLM_IMAGE, "Environment": VLLM_ENV}
    aws.sagemaker.create_model(ModelName="model", ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container)
    aws.create_config(model=None)
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    aws.create_component("component")
    wait_until(aws, lambda: aws.component_status("component") != "Creating")
    assert aws.component_status("component") == "Failed"
    assert aws.logs.describe_log_groups()["logGroups"] == []


@pytest.mark.parametrize(
    ("image", "environment", "line"),
    [
        (VLLM_IMAGE, VLLM_ENV, "To serve at least one request with the model's max seq len (4096)"),
        (SGLANG_IMAGE, SGLANG_ENV, "RuntimeError: Not enough memory. Please try to increase --mem-fraction-static."),
    ],
)
def test_a_kv_cache_too_small_fails_with_the_engines_own_line(aws: Aws, image, environment, line) -> None:
    configure(aws.url, health_check_failures={"endpoint": "kv-cache"})
    assert deploy(aws, image, environment) == "Failed"
    assert line in log_text(aws, "/aws/sagemaker/Endpoints/endpoint")


def test_an_sglang_endpoint_logs_its_entrypoint_and_serves_chat(aws: Aws) -> None:
    assert deploy(aws, SGLANG_IMAGE, SGLANG_ENV, ami="al2-ami-sagemaker-inference-gpu-3-1") == "InService"
    text = log_text(aws, "/aws/sagemaker/Endpoints/endpoint")
    assert "Running command: exec python3 -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct" in text
    assert text.rstrip().endswith("The server is fired up and ready to roll!")


def test_tgi_without_the_models_architecture_dies_naming_its_type(aws: Aws) -> None:
    configure(aws.url, health_check_failures={"endpoint": "unsupported-model"})
    aws.deploy()
    assert aws.endpoint_status("endpoint") == "Failed"
    text = log_text(aws, "/aws/sagemaker/Endpoints/endpoint")
    assert "ValueError: Unsupported model type qwen2.5" in text and "Shard 0 failed to start" in text

