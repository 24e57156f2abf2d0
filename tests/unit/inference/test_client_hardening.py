"""What a broken network, a tampered stream, a hostile model or a careless user does to `python test.py`:
one line and a non-zero exit, never a traceback, a partial answer passed off as whole, or a repainted terminal."""

from __future__ import annotations

import io
import json
import sys

import pytest
from client_fakes import (
    FakeSageMaker,
    chat_events,
    generate_events,
    json_reply,
    payload_part,
    runtime_error,
    sse,
    stream_reply,
)

from llm_engineering.cli import run
from llm_engineering.inference.client import valid_text
from llm_engineering.model.deploy.test import main
from llm_engineering.terminal import TerminalText, clean

ENDPOINT = "llm-engineering-endpoint"
MODULE = "llm_engineering.model.deploy.test"
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as stopped:
        run(lambda: main(argv))
    return stopped.value.code


def _events(events: list) -> list[bytes]:
    return [payload_part(sse(*events))]


# --- Streams that break ------------------------------------------------------------------------------------


def test_a_stream_without_tgis_final_event_is_incomplete_and_exits_1(fake: FakeSageMaker, capsys) -> None:
    events = generate_events(["Par", "is", " is"])[:2]  # the last event, with details, never came
    fake.queue(stream_reply(_events(events)))
    assert _exit_code(["--prompt", "Capital of France?"]) == 1
    out, err = capsys.readouterr()
    assert out == "Paris"
    assert err == (
        f"error: The answer from endpoint '{ENDPOINT}' is incomplete: the stream ended after 2 token(s) without the "
        "container's final event (connection cut?): retry.\n"
    )


def test_a_chat_stream_without_done_is_incomplete(fake: FakeSageMaker, capsys) -> None:
    events = chat_events(["Hel", "lo"])[:-1]  # no `data: [DONE]`
    fake.queue(stream_reply(_events(events)))
    assert _exit_code(["--prompt", "Hi", "--chat", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "is incomplete: the stream ended after 2 token(s)" in err


def test_a_stream_cut_inside_an_event_stream_message_is_incomplete(fake: FakeSageMaker, capsys) -> None:
    whole = payload_part(sse(*generate_events(["Hi", "!"])))
    fake.queue(stream_reply([whole[: len(whole) // 2]]))
    assert _exit_code(["--prompt", "Hi"]) == 1
    assert "is incomplete: the stream ended after 0 token(s)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("body", "parser_error"),
    [
        (b'data: {"token": {"text": "Hi"}}\n\n' * 4, "ChecksumMismatch"),  # server-sent events, unframed
        (payload_part(sse(*generate_events(["Hi"])))[:-1] + b"\x00", "ChecksumMismatch"),  # a flipped CRC byte
    ],
)
def test_bytes_that_are_not_event_stream_framing_give_one_line(fake, capsys, body: bytes, parser_error: str) -> None:
    fake.queue(stream_reply([body]))
    assert _exit_code(["--prompt", "Hi"]) == 1
    assert capsys.readouterr().err == (
        f"error: The answer stream from endpoint '{ENDPOINT}' is not AWS event-stream framing ({parser_error}): "
        "retry; if it persists, check AWS_ENDPOINT_URL and any proxy between you and AWS.\n"
    )


def test_the_chat_loop_survives_a_broken_stream_and_keeps_its_history(fake, monkeypatch, capsys) -> None:
    fake.queue(
        stream_reply([b"garbage that is not event-stream framing at all"]),
        stream_reply(_events(chat_events(["Hel"])[:-1])),
        stream_reply(_events(chat_events(["Fine"]))),
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("first\nsecond\nthird\n"))
    assert _exit_code([]) == 1  # piped input: failed prompts show in the exit code, the session went on
    out, err = capsys.readouterr()
    assert out == "Hel\nFine\n"
    lines = err.splitlines()
    assert "is not AWS event-stream framing" in lines[0] and "is incomplete" in lines[1]
    assert fake.requests[2].json()["messages"] == [{"role": "user", "content": "third"}]  # no broken exchange kept


# --- What the model writes reaches the terminal without its control sequences ------------------------------

HOSTILE = ["Safe\x1b]0;owned\x07 ", "\x1b[2J\x1b[31", "mred\x1b[0m", " text\rfake prompt$ ", "\x07done"]


def test_one_shot_text_drops_escape_sequences_and_overwrites_but_json_keeps_them(fake, capsys) -> None:
    fake.queue(stream_reply(_events(generate_events(HOSTILE))))
    assert _exit_code(["--prompt", "Hi"]) == 0
    assert capsys.readouterr().out == "Safe red text\nfake prompt$ done\n"
    fake.queue(stream_reply(_events(generate_events(HOSTILE))))
    assert _exit_code(["--prompt", "Hi", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answer"] == "".join(HOSTILE)


def test_the_chat_loop_drops_them_too_and_keeps_the_answer_as_sent_in_the_history(fake, monkeypatch, capsys) -> None:
    fake.queue(stream_reply(_events(chat_events(HOSTILE))), stream_reply(_events(chat_events(["ok"]))))
    monkeypatch.setattr(sys, "stdin", io.StringIO("Hi\nagain\n"))
    assert _exit_code([]) == 0
    assert capsys.readouterr().out == "Safe red text\nfake prompt$ done\nok\n"
    assert fake.requests[1].json()["messages"][1] == {"role": "assistant", "content": "".join(HOSTILE)}


@pytest.mark.parametrize("cut", range(1, 12))
def test_a_sequence_split_anywhere_is_still_removed(cut: int) -> None:
    text = "a\x1b]8;;http://x\x1b\\b\x1b[1;31mc\r\nd"
    screen = TerminalText()
    assert screen.feed(text[:cut]) + screen.feed(text[cut:]) + screen.finish() == "abc\nd"
    assert clean("tab\tstays\nline\x00\x7f\x9b1mx") == "tab\tstays\nlinex"


# --- Input that is not valid, and numbers that are not finite ----------------------------------------------


def test_undecodable_bytes_become_replacement_characters() -> None:
    assert valid_text("caf\udcc3\udca9 ok") == "café ok"  # valid UTF-8 split by surrogateescape comes back
    assert valid_text("bad \udcff byte") == "bad \ufffd byte"
    assert valid_text("lone \ud800 surrogate") == "lone \ufffd surrogate"


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e999"])
def test_non_finite_parameters_are_refused_before_sending(fake, capsys, value: str) -> None:
    assert _exit_code(["--prompt", "Hi", "--param", f"temperature={value}"]) == 2
    assert capsys.readouterr().err == (
        f"error: Invalid generation parameter temperature={value}: it must be a number > 0 (0.5-1.0 is usual).\n"
    )
    assert fake.requests == []


# --- max_new_tokens against what the endpoint was deployed with --------------------------------------------

TOO_MANY = (
    '{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 3 `inputs` tokens '
    'and 5000 `max_new_tokens`","error_type":"validation"}'
)


def _refusal() -> object:
    return runtime_error(
        "ModelError",
        f'Received client error (422) from primary with message "{TOO_MANY}". See https://x in account 1.',
        424,
        OriginalStatusCode=422,
        OriginalMessage=TOO_MANY,
    )


def _deployed(environment: dict[str, str]) -> list[object]:
    """DescribeEndpoint, DescribeEndpointConfig and DescribeModel of a model-based endpoint."""
    return [
        json_reply(
            {
                "EndpointName": ENDPOINT,
                "EndpointArn": f"{ACCOUNT_ARN}:endpoint/{ENDPOINT}",
                "EndpointConfigName": "config-1",
                "EndpointStatus": "InService",
                "CreationTime": 1767225600,
                "LastModifiedTime": 1767225600,
            }
        ),
        json_reply(
            {
                "EndpointConfigName": "config-1",
                "EndpointConfigArn": f"{ACCOUNT_ARN}:endpoint-config/config-1",
                "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "model-1"}],
                "CreationTime": 1767225600,
            }
        ),
        json_reply(
            {
                "ModelName": "model-1",
                "ModelArn": f"{ACCOUNT_ARN}:model/model-1",
                "PrimaryContainer": {"Image": "x", "Environment": environment},
                "CreationTime": 1767225600,
            }
        ),
    ]


def test_too_many_new_tokens_name_the_setting_and_the_deployed_limits(fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MAX_NEW_TOKENS_INFERENCE", "5000")
    fake.queue(_refusal(), *_deployed({"MAX_TOTAL_TOKENS": "4096", "MAX_INPUT_TOKENS": "2048"}))
    assert _exit_code(["--prompt", "Hi", "--no-stream"]) == 2
    assert capsys.readouterr().err == (
        f"error: max_new_tokens=5000 is more than endpoint '{ENDPOINT}' allows: it was deployed with "
        "MAX_TOTAL_TOKENS=4096 (prompt plus answer) and MAX_INPUT_TOKENS=2048, so ask for at most 2048. Lower "
        "MAX_NEW_TOKENS_INFERENCE (or pass --param max_new_tokens=N; in the chat: /set max_new_tokens N).\n"
    )
    assert [request.operation for request in fake.requests] == [
        "invocations",
        "SageMaker.DescribeEndpoint",
        "SageMaker.DescribeEndpointConfig",
        "SageMaker.DescribeModel",
    ]


def test_once_known_the_limits_refuse_before_sending(fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MAX_NEW_TOKENS_INFERENCE", "5000")
    fake.queue(_refusal(), *_deployed({"MAX_TOTAL_TOKENS": "4096", "MAX_INPUT_TOKENS": "2048"}))
    fake.queue(json_reply({"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}))
    monkeypatch.setattr(sys, "stdin", io.StringIO("first\nsecond\n/set max_new_tokens 2048\nthird\n"))
    assert _exit_code(["--no-stream"]) == 1
    out, err = capsys.readouterr()
    assert out == "ok\n"
    assert err.count("max_new_tokens=5000 is more than") == 2
    assert len(fake.requests) == 5  # the second prompt never left: 1 refused + 3 look-ups + the third prompt


def test_without_the_deployed_limits_the_setting_is_still_named(fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MAX_NEW_TOKENS_INFERENCE", "5000")
    fake.queue(_refusal(), *_deployed({"HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"}))  # limits left to TGI
    assert _exit_code(["--prompt", "Hi", "--no-stream"]) == 2
    assert capsys.readouterr().err == (
        f"error: max_new_tokens=5000 is more than endpoint '{ENDPOINT}' allows: its container allows 4096 tokens "
        "for prompt plus answer, so ask for fewer. Lower MAX_NEW_TOKENS_INFERENCE (or pass --param "
        "max_new_tokens=N; in the chat: /set max_new_tokens N).\n"
    )
