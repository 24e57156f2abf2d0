"""The emulated TGI container on its own: routes, TGI's validation wording, determinism, streaming pace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_engineering.local.container import EmulatedTgi, tokenize

MODEL = "Qwen/Qwen2.5-7B-Instruct"


def call(body: Any, **options: Any) -> tuple[int, str, bytes]:
    reply = EmulatedTgi(MODEL, clock=lambda: 1_700_000_000, **options).invoke(json.dumps(body).encode())
    return reply.status, reply.content_type, reply.read()


def refusal(body: Any, **options: Any) -> str:
    status, content_type, raw = call(body, **options)
    answer = json.loads(raw)
    assert (status, content_type, answer["error_type"]) == (422, "application/json", "validation")
    return answer["error"]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"temperature": 0}, "Input validation error: `temperature` must be strictly positive"),
        ({"temperature": -0.5}, "Input validation error: `temperature` must be strictly positive"),
        ({"top_p": 1.0}, "Input validation error: `top_p` must be > 0.0 and < 1.0"),
        ({"top_p": 0}, "Input validation error: `top_p` must be > 0.0 and < 1.0"),
        ({"typical_p": 1.5}, "Input validation error: `typical_p` must be > 0.0 and < 1.0"),
        ({"top_k": 0}, "Input validation error: `top_k` must be strictly positive"),
        ({"repetition_penalty": 0}, "Input validation error: `repetition_penalty` must be strictly positive"),
        ({"frequency_penalty": 3}, "Input validation error: `frequency_penalty` must be >= -2.0 and <= 2.0"),
        ({"max_new_tokens": 0}, "Input validation error: `max_new_tokens` must be strictly positive"),
        (
            {"stop": ["a", "b", "c", "d", "e"]},
            "Input validation error: `stop` supports up to 4 stop sequences. Given: 5",
        ),
        (
            {"max_new_tokens": 5000},
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. "
            "Given: 1 `inputs` tokens and 5000 `max_new_tokens`",
        ),
        (
            {"temperature": "hot"},
            'Failed to deserialize the JSON body into the target type: parameters.temperature: invalid type: "hot", '
            "expected f32",
        ),
        (
            {"top_k": 2.5},
            "Failed to deserialize the JSON body into the target type: parameters.top_k: invalid type: 2.5, "
            "expected u32",
        ),
    ],
)
def test_generate_parameters_are_validated_with_tgis_wording(parameters: dict[str, Any], message: str) -> None:
    assert refusal({"inputs": "Hi", "parameters": parameters}) == message


def test_limits_come_from_the_container_environment() -> None:
    environment = {"MAX_INPUT_TOKENS": "3", "MAX_TOTAL_TOKENS": "10"}

    too_long = refusal({"inputs": "one two three four"}, environment=environment)
    budget = refusal({"inputs": "one two", "parameters": {"max_new_tokens": 9}}, environment=environment)

    assert too_long == "Input validation error: `inputs` must have less than 3 tokens. Given: 4"
    assert budget == (
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 10. "
        "Given: 2 `inputs` tokens and 9 `max_new_tokens`"
    )


def test_malformed_requests_are_refused_like_tgi() -> None:
    reply = EmulatedTgi(MODEL).invoke(b"{not json")

    assert reply.status == 422
    assert json.loads(reply.read())["error"].startswith("Failed to parse the request body as JSON")
    assert refusal({"inputs": ""}) == "Input validation error: `inputs` cannot be empty"
    assert refusal({"parameters": {}}) == (
        "Failed to deserialize the JSON body into the target type: missing field `inputs`"
    )
    assert refusal({"messages": []}) == "Input validation error: `messages` must be a non-empty list"


def test_generate_honours_return_full_text_stop_and_seed() -> None:
    _, _, full = call({"inputs": "Hello", "parameters": {"return_full_text": True, "max_new_tokens": 1}})
    _, _, stopped = call({"inputs": "Hello", "parameters": {"stop": ["You"], "details": True}})
    _, _, sampled = call({"inputs": "Hello", "parameters": {"seed": 5, "do_sample": True, "details": True}})

    assert json.loads(full) == [{"generated_text": f"Hello[emulated {MODEL}]"}]
    [stop_answer] = json.loads(stopped)
    assert stop_answer["generated_text"] == f"[emulated {MODEL}] You"
    assert (stop_answer["details"]["finish_reason"], stop_answer["details"]["seed"]) == ("stop_sequence", None)
    assert json.loads(sampled)[0]["details"]["seed"] == 5


def test_chat_treats_temperature_zero_as_greedy_but_refuses_negative() -> None:
    status, _, raw = call({"messages": [{"role": "user", "content": "Hi"}], "temperature": 0, "max_tokens": 2})

    assert status == 200
    assert json.loads(raw)["choices"][0] == {
        "index": 0,
        "message": {"role": "assistant", "content": f"[emulated {MODEL}] You"},
        "logprobs": None,
        "finish_reason": "length",
    }
    assert refusal({"messages": [{"role": "user", "content": "Hi"}], "temperature": -1}) == (
        "Input validation error: `temperature` must be strictly positive"
    )


def test_chat_accepts_content_parts_and_a_single_stop_string() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}], "stop": "there"}

    _, _, raw = call(body)

    answer = json.loads(raw)
    assert answer["choices"][0]["message"]["content"] == f'[emulated {MODEL}] You asked: "Hi there".'
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["created"] == 1_700_000_000
    assert answer["system_fingerprint"] == "3.3.6-native"


def test_streams_pause_before_each_token() -> None:
    pauses: list[float] = []
    container = EmulatedTgi(MODEL, token_delay=0.05, sleep=pauses.append)

    reply = container.invoke(json.dumps({"inputs": "Hi", "parameters": {"max_new_tokens": 4}, "stream": True}).encode())
    events = reply.read().decode().split("\n\n")[:-1]

    assert reply.content_type == "text/event-stream"
    assert len(events) == 4
    assert pauses == [0.05] * 4
    assert all(event.startswith('data:{"index":') for event in events)


def test_the_answer_contains_multi_byte_characters_to_exercise_utf8_splits() -> None:
    _, _, raw = call({"inputs": "Hi"})

    text = json.loads(raw)[0]["generated_text"]
    assert "東京" in text
    assert len(text.encode()) > len(text)
    assert tokenize(" a  b\nc") == [" a", "  b", "\nc"]


# --- TGI's stream exactly: details and usage only when asked ----------------------------------------------


def stream_events(body: dict[str, Any]) -> list[Any]:
    status, content_type, raw = call({**body, "stream": True})
    assert (status, content_type) == (200, "text/event-stream")
    data = [chunk.removeprefix(b"data:").strip() for chunk in raw.split(b"\n\n") if chunk]
    return [item.decode() if item == b"[DONE]" else json.loads(item) for item in data]


@pytest.mark.parametrize("asked", [True, False, None])
def test_the_last_generate_event_carries_details_only_when_asked(asked: bool | None) -> None:
    parameters: dict[str, Any] = {"max_new_tokens": 3}
    if asked is not None:
        parameters["details"] = asked
    events = stream_events({"inputs": "Hello", "parameters": parameters})
    _, _, plain = call({"inputs": "Hello", "parameters": parameters})

    assert [event["details"] for event in events[:-1]] == [None, None]
    assert events[-1]["generated_text"] is not None
    if asked:
        assert events[-1]["details"] == {
            "finish_reason": "length",
            "generated_tokens": 3,
            "seed": None,
            "input_length": 0,
        }
        assert json.loads(plain)[0]["details"]["generated_tokens"] == 3
    else:
        assert events[-1]["details"] is None
        assert json.loads(plain) == [{"generated_text": json.loads(plain)[0]["generated_text"]}]


@pytest.mark.parametrize("options", [None, {}, {"include_usage": False}])
def test_a_chat_stream_has_no_usage_unless_asked(options: dict[str, Any] | None) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
    if options is not None:
        body["stream_options"] = options
    events = stream_events(body)

    assert events[-1] == "[DONE]"
    assert all("usage" not in event for event in events[:-1])
    assert events[-2]["choices"][0]["finish_reason"] == "length"


def test_a_chat_stream_asked_for_usage_reports_it_in_a_last_chunk_without_choices() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "stream_options": {"include_usage": True}}
    events = stream_events(body)
    _, _, plain = call({key: value for key, value in body.items() if key != "stream_options"})

    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == [] and usage_chunk["object"] == "chat.completion.chunk"
    assert usage_chunk["usage"] == json.loads(plain)["usage"]
    assert usage_chunk["usage"]["completion_tokens"] == 4
    assert events[-3]["choices"][0]["finish_reason"] == "length"
    assert all("usage" not in event for event in events[:-2])


def test_stream_options_of_the_wrong_type_are_refused_like_tgi() -> None:
    message = refusal({"messages": [{"role": "user", "content": "Hi"}], "stream": True, "stream_options": True})
    assert message == (
        "Failed to deserialize the JSON body into the target type: stream_options: invalid type: true, "
        "expected struct StreamOptions"
    )
    message = refusal({"messages": [{"role": "user", "content": "Hi"}], "stream_options": {"include_usage": 1}})
    assert message.endswith("stream_options.include_usage: invalid type: 1, expected bool")
