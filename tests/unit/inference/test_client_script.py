"""`python test.py` / `python -m llm_engineering.model.deploy.test`: one-shot output, exit codes, one-line
errors, piped conversations, the root shim, and the promise that the client path never loads the SDK."""

from __future__ import annotations

import gc
import io
import json
import os
import re
import runpy
import subprocess
import sys
from types import SimpleNamespace

import botocore.endpoint
import pytest
from client_fakes import (
    FakeSageMaker,
    chat_events,
    control_error,
    generate_events,
    json_reply,
    payload_part,
    runtime_error,
    split,
    sse,
    stream_exception,
    stream_reply,
)
from helpers import REPO

from llm_engineering.aws import MAX_ATTEMPTS
from llm_engineering.cli import run
from llm_engineering.model.deploy.test import main

MODULE = "llm_engineering.model.deploy.test"
ENDPOINT = "llm-engineering-endpoint"
GENERATE_PARAMETERS = {
    "max_new_tokens": 256,
    "do_sample": True,
    "temperature": 0.7,
    "top_p": 0.9,
    "return_full_text": False,
    "details": True,
}
PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
TGI_422 = '{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}'


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as stopped:
        run(lambda: main(argv))
    return stopped.value.code


def _answer(*tokens: str) -> list[bytes]:
    data = sse(*generate_events(list(tokens)))
    return [payload_part(part) for part in split(data, 11, 37)]


def test_one_shot_streams_the_answer(fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    fake.queue(stream_reply(_answer("Paris", " is", " the", " capital", ".")))
    assert _exit_code(["--prompt", "What is the capital of France?"]) == 0
    out, err = capsys.readouterr()
    assert out == "Paris is the capital.\n"
    assert re.fullmatch(
        r"\[5 tokens in \d+\.\d\d s, first token after \d+\.\d\d s, [\d.]+ tokens/s, finish: length\]\n", err
    )
    [request] = fake.requests
    assert request.path == f"/endpoints/{ENDPOINT}/invocations-response-stream"
    assert request.json() == {
        "inputs": "What is the capital of France?",
        "parameters": GENERATE_PARAMETERS,
        "stream": True,
    }


def test_one_shot_json_without_streaming(fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    answer = [{"generated_text": " Paris.", "details": {"finish_reason": "eos_token", "generated_tokens": 3}}]
    fake.queue(json_reply(answer))
    assert _exit_code(["--prompt", "Capital?", "--no-stream", "--json", "--param", "top_k=40"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    printed = json.loads(out)
    seconds = printed["stats"].pop("seconds")
    speed = printed["stats"].pop("tokens_per_second")
    assert seconds >= 0 and speed > 0
    assert printed == {
        "answer": " Paris.",
        "endpoint": ENDPOINT,
        "component": None,
        "engine": "tgi",
        "mode": "generate",
        "parameters": {
            "max_new_tokens": 256,
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 40,
            "repetition_penalty": None,
            "stop": [],
            "do_sample": True,
            "seed": None,
            "return_full_text": False,
        },
        "stats": {"tokens": 3, "time_to_first_token": None, "finish_reason": "eos_token"},
    }
    assert fake.requests[0].path == f"/endpoints/{ENDPOINT}/invocations"
    assert fake.requests[0].json()["parameters"] == {**GENERATE_PARAMETERS, "top_k": 40}


def test_one_shot_chat_json_streamed_to_a_named_component(
    fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.queue(stream_reply([payload_part(sse(*chat_events(["Bon", "jour"], usage=True)))]))
    argv = ["--prompt", "Salut", "--chat", "--json", "--endpoint-name", "other", "--component", "other-ic"]
    assert _exit_code(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["answer"], printed["mode"], printed["endpoint"], printed["component"]) == (
        "Bonjour",
        "chat",
        "other",
        "other-ic",
    )
    assert printed["stats"]["tokens"] == 2 and printed["stats"]["time_to_first_token"] is not None
    [request] = fake.requests
    assert request.path == "/endpoints/other/invocations-response-stream"
    assert request.headers["x-amzn-sagemaker-inference-component"] == "other-ic"
    assert request.json() == {
        "messages": [{"role": "user", "content": "Salut"}],
        "max_tokens": 256,
        "temperature": 0.7,
        "top_p": 0.9,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--param", "temperature=0"],
            "error: Invalid generation parameter temperature=0: it must be a number > 0 (0.5-1.0 is usual).\n",
        ),
        (
            ["--param", "top_p=1.5"],
            "error: Invalid generation parameter top_p=1.5: it must be a number with 0 < top_p < 1 "
            "(0.7-0.95 is usual).\n",
        ),
        (
            ["--param", "topk=5"],
            "error: Unknown generation parameter 'topk': choose one of max_new_tokens, temperature, top_p, top_k, "
            "repetition_penalty, stop, do_sample, seed, return_full_text.\n",
        ),
        (
            ["--component", "bad_name"],
            "error: --component='bad_name' is invalid: must be 1-63 letters, digits or hyphens, starting and ending "
            "with a letter or digit (SageMaker's naming rule).\n",
        ),
        (["--prompt", "  "], 'error: --prompt is empty: pass the text to send, e.g. --prompt "What is TGI?".\n'),
    ],
)
def test_bad_arguments_exit_2_before_any_request(
    fake: FakeSageMaker, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    if "--prompt" not in argv:
        argv = ["--prompt", "Hi", *argv]
    assert _exit_code(argv) == 2
    assert capsys.readouterr() == ("", message)
    assert fake.requests == []


def test_bad_settings_exit_2(
    fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEMPERATURE_INFERENCE", "0")
    assert _exit_code(["--prompt", "Hi"]) == 2
    assert capsys.readouterr().err == (
        "error: TEMPERATURE_INFERENCE='0' is invalid: Input should be greater than 0. "
        "Fix it in .env or the environment.\n"
    )
    assert fake.requests == []


def test_missing_endpoint(fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    fake.queue(
        runtime_error("ValidationError", f"Endpoint {ENDPOINT} of account 123456789012 not found."),
        control_error("ValidationException", f'Could not find endpoint "{ENDPOINT}".'),
    )
    assert _exit_code(["--prompt", "Hi"]) == 1
    assert capsys.readouterr() == (
        "",
        f"error: Endpoint '{ENDPOINT}' does not exist in us-east-1: deploy it with `make deploy-inference-endpoint`, "
        "or set SAGEMAKER_ENDPOINT_INFERENCE (or --endpoint-name) to an existing endpoint.\n",
    )
    assert [request.operation for request in fake.requests] == [
        "invocations-response-stream",
        "SageMaker.DescribeEndpoint",
    ]
    assert fake.requests[1].json() == {"EndpointName": ENDPOINT}


def test_endpoint_still_creating(fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    fake.queue(
        runtime_error("ValidationError", f"Endpoint {ENDPOINT} of account 123456789012 not found."),
        json_reply(
            {
                "EndpointName": ENDPOINT,
                "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
                "EndpointStatus": "Creating",
                "CreationTime": 1767225600,
                "LastModifiedTime": 1767225600,
            }
        ),
    )
    assert _exit_code(["--prompt", "Hi", "--no-stream"]) == 1
    assert capsys.readouterr().err == (
        f"error: Endpoint '{ENDPOINT}' is Creating, not InService: wait until it is InService "
        "(`make deploy-inference-endpoint` waits and shows progress).\n"
    )


def test_container_validation_error(fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    fake.queue(
        runtime_error(
            "ModelError",
            f'Received client error (422) from primary with message "{TGI_422}". See https://x in account 1.',
            424,
            OriginalStatusCode=422,
            OriginalMessage=TGI_422,
            LogStreamArn="arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/x",
        )
    )
    assert _exit_code(["--prompt", "Hi"]) == 1
    assert capsys.readouterr().err == (
        f"error: The model container on endpoint '{ENDPOINT}' rejected the request (HTTP 422): "
        "Input validation error: `temperature` must be strictly positive. Fix it and retry.\n"
    )


def test_component_discovered_when_settings_say_inference_component(
    fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENDPOINT_TYPE", "inference-component")
    fake.queue(
        json_reply(
            {
                "InferenceComponents": [
                    {
                        "InferenceComponentName": "llm-engineering-endpoint-ic",
                        "InferenceComponentArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/x",
                        "EndpointName": ENDPOINT,
                        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
                        "VariantName": "AllTraffic",
                        "InferenceComponentStatus": "InService",
                        "CreationTime": 1767225600,
                        "LastModifiedTime": 1767225600,
                    }
                ]
            }
        ),
        stream_reply(_answer("ok")),
    )
    assert _exit_code(["--prompt", "Hi"]) == 0
    assert capsys.readouterr().out == "ok\n"
    listing, invocation = fake.requests
    assert listing.operation == "SageMaker.ListInferenceComponents"
    assert listing.json() == {"EndpointNameEquals": ENDPOINT, "MaxResults": 100}
    assert invocation.headers["x-amzn-sagemaker-inference-component"] == "llm-engineering-endpoint-ic"


def test_several_components_exit_2(fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    components = [
        {
            "InferenceComponentName": name,
            "InferenceComponentArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{name}",
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
            "VariantName": "AllTraffic",
            "InferenceComponentStatus": "InService",
            "CreationTime": 1767225600,
            "LastModifiedTime": 1767225600,
        }
        for name in ("qwen-ic", "llama-ic")
    ]
    fake.queue(
        runtime_error(
            "ValidationError",
            "Inference Component Name header is required for endpoints to which you plan to deploy inference "
            "components. Please include Inference Component Name header or consider using SageMaker models.",
        ),
        json_reply({"InferenceComponents": components}),
    )
    assert _exit_code(["--prompt", "Hi"]) == 2
    assert capsys.readouterr().err == (
        f"error: Endpoint '{ENDPOINT}' hosts several inference components (qwen-ic (InService), llama-ic (InService)): "
        "set SAGEMAKER_INFERENCE_COMPONENT_NAME or pass --component to choose one.\n"
    )


HEADER_REQUIRED = (
    "Inference Component Name header is required for endpoints to which you plan to deploy inference components. "
    "Please include Inference Component Name header or consider using SageMaker models."
)


def test_component_endpoint_without_components_exit_2(fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    fake.queue(runtime_error("ValidationError", HEADER_REQUIRED), json_reply({"InferenceComponents": []}))
    assert _exit_code(["--prompt", "Hi"]) == 2
    assert capsys.readouterr() == (
        "",
        f"error: Endpoint '{ENDPOINT}' serves inference components but has none: deploy one with "
        "`make deploy-inference-endpoint` (ENDPOINT_TYPE=inference-component).\n",
    )


def test_unknown_component_exit_2(
    fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAGEMAKER_INFERENCE_COMPONENT_NAME", "typo-ic")
    fake.queue(runtime_error("ValidationError", "Inference Component typo-ic not found."))
    assert _exit_code(["--prompt", "Hi"]) == 2
    assert capsys.readouterr().err == (
        f"error: Inference component 'typo-ic' does not exist on endpoint '{ENDPOINT}': fix "
        "SAGEMAKER_INFERENCE_COMPONENT_NAME or --component (or unset both to pick the endpoint's only one).\n"
    )
    assert fake.requests[0].headers["x-amzn-sagemaker-inference-component"] == "typo-ic"


def test_throttled_through_every_retry_exit_1(
    fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append))
    fake.queue(*[runtime_error("ThrottlingException", "Rate exceeded")] * MAX_ATTEMPTS)
    assert _exit_code(["--prompt", "Hi"]) == 1
    assert capsys.readouterr() == (
        "",
        f"error: SageMaker throttled every attempt to invoke endpoint '{ENDPOINT}' (ThrottlingException): "
        "wait a minute and retry, or request a higher invocation quota in Service Quotas.\n",
    )
    assert (len(fake.requests), len(delays)) == (MAX_ATTEMPTS, MAX_ATTEMPTS - 1)


def test_request_timeout_is_one_attempt(
    fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INFERENCE_REQUEST_TIMEOUT", "1")
    slow = json_reply([{"generated_text": "late"}])
    slow.delay = 1.5
    fake.queue(slow, json_reply([{"generated_text": "retried"}]))
    assert _exit_code(["--prompt", "Hi", "--no-stream"]) == 1
    assert capsys.readouterr() == (
        "",
        f"error: Endpoint '{ENDPOINT}' did not answer within 1 s: ask for fewer tokens (max_new_tokens) "
        "or raise INFERENCE_REQUEST_TIMEOUT.\n",
    )
    assert len(fake.requests) == 1


def test_stream_failure_keeps_the_partial_answer_on_stdout(
    fake: FakeSageMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    data = sse(*generate_events(["Par", "is"]))
    fake.queue(
        stream_reply(
            [payload_part(data[: data.index(b"\n\n") + 2]), stream_exception("InternalStreamFailure", "Try again.")]
        )
    )
    assert _exit_code(["--prompt", "Hi"]) == 1
    assert capsys.readouterr() == (
        "Par",
        f"error: SageMaker broke the answer stream from endpoint '{ENDPOINT}' (InternalStreamFailure: Try again): "
        "retry.\n",
    )


def test_piped_conversation(
    fake: FakeSageMaker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.queue(
        stream_reply([payload_part(sse(*chat_events(["Hello"])))]),
        stream_reply([payload_part(sse(*chat_events(["Bye"])))]),
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("Hi\n/set max_new_tokens 5\nSee you\n"))
    assert _exit_code([]) == 0
    out, err = capsys.readouterr()
    assert out == "Hello\nBye\n"
    assert err.splitlines()[1] == "max_new_tokens = 5"
    assert fake.requests[1].json() == {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "See you"},
        ],
        "max_tokens": 5,
        "temperature": 0.7,
        "top_p": 0.9,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


# --- Subprocesses ------------------------------------------------------------------------------------------


def _python(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`command` run as a separate process (the first item is the interpreter), bounded in time."""
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_root_shim_runs_main_with_the_collector_back_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shim pauses the cyclic collector while modules load; a long chat must still run with it."""
    seen: dict[str, object] = {}

    def record() -> int:
        seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(), plugins=os.environ.get(PLUGINS))
        return 0

    monkeypatch.setattr("llm_engineering.model.deploy.test.main", record)
    monkeypatch.setattr(sys, "argv", ["test.py"])
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k != PLUGINS})
    try:
        with pytest.raises(SystemExit) as stopped:
            runpy.run_path(str(REPO / "test.py"), run_name="__main__")
    finally:
        gc.unfreeze()
        gc.enable()
    assert stopped.value.code == 0
    assert seen["enabled"] is True
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 0
    assert seen["plugins"] == "__all__"
