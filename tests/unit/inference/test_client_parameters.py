"""Generation parameters: defaults from settings, refusal of bad values, and the request bodies they make."""

from __future__ import annotations

import pytest

from llm_engineering.errors import ConfigurationError
from llm_engineering.inference.client import chat_request, generate_request
from llm_engineering.inference.parameters import GenerationParameters, InvalidParameterError, parse_assignments
from llm_engineering.settings import load_settings


def test_defaults_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_NEW_TOKENS_INFERENCE", "64")
    monkeypatch.setenv("TEMPERATURE_INFERENCE", "0.5")
    monkeypatch.setenv("TOP_P_INFERENCE", "0.8")
    monkeypatch.setenv("TOP_K_INFERENCE", "40")
    monkeypatch.setenv("REPETITION_PENALTY_INFERENCE", "1.1")
    params = GenerationParameters.from_settings(load_settings())
    assert params.model_dump() == {
        "max_new_tokens": 64,
        "temperature": 0.5,
        "top_p": 0.8,
        "top_k": 40,
        "repetition_penalty": 1.1,
        "stop": (),
        "do_sample": True,
        "seed": None,
        "return_full_text": False,
    }


def test_settings_defaults_leave_top_k_and_penalty_unset() -> None:
    params = GenerationParameters.from_settings(load_settings())
    assert (params.max_new_tokens, params.temperature, params.top_p) == (256, 0.7, 0.9)
    assert (params.top_k, params.repetition_penalty) == (None, None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("temperature", "0", "Invalid generation parameter temperature=0: it must be a number > 0 (0.5-1.0 is usual)."),
        (
            "temperature",
            "-1",
            "Invalid generation parameter temperature=-1: it must be a number > 0 (0.5-1.0 is usual).",
        ),
        (
            "temperature",
            "hot",
            "Invalid generation parameter temperature=hot: it must be a number > 0 (0.5-1.0 is usual).",
        ),
        (
            "top_p",
            "1",
            "Invalid generation parameter top_p=1: it must be a number with 0 < top_p < 1 (0.7-0.95 is usual).",
        ),
        (
            "top_p",
            "0",
            "Invalid generation parameter top_p=0: it must be a number with 0 < top_p < 1 (0.7-0.95 is usual).",
        ),
        ("top_k", "0", "Invalid generation parameter top_k=0: it must be an integer >= 1, or none."),
        (
            "repetition_penalty",
            "0",
            "Invalid generation parameter repetition_penalty=0: it must be a number > 0, or none (1.0-2.0 is usual).",
        ),
        ("max_new_tokens", "0", "Invalid generation parameter max_new_tokens=0: it must be an integer >= 1."),
        ("max_new_tokens", "many", "Invalid generation parameter max_new_tokens=many: it must be an integer >= 1."),
        ("do_sample", "maybe", "Invalid generation parameter do_sample=maybe: it must be true or false."),
        ("seed", "-3", "Invalid generation parameter seed=-3: it must be an integer >= 0, or none."),
        (
            "stop",
            "[1, 2]",
            "Invalid generation parameter stop=[1, 2]: it must be a string or a JSON list of strings, or none.",
        ),
    ],
)
def test_out_of_range_values_are_refused_with_one_line(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        GenerationParameters().updated({name: value})
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


def test_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        GenerationParameters().updated({"temprature": "0.5"})
    assert str(caught.value) == (
        "Unknown generation parameter 'temprature': choose one of max_new_tokens, temperature, top_p, top_k, "
        "repetition_penalty, stop, do_sample, seed, return_full_text."
    )


def test_values_parse_as_on_the_command_line() -> None:
    params = GenerationParameters().updated(
        {"temperature": "0.5", "top_k": "50", "do_sample": "off", "stop": "###", "seed": "7", "return_full_text": "yes"}
    )
    assert (params.temperature, params.top_k, params.do_sample, params.stop, params.seed, params.return_full_text) == (
        0.5,
        50,
        False,
        ("###",),
        7,
        True,
    )
    params = params.updated({"top_k": "none", "stop": '["\\n\\n", "User:"]', "seed": "unset"})
    assert (params.top_k, params.stop, params.seed) == (None, ("\n\n", "User:"), None)
    assert params.updated({"stop": "none"}).stop == ()


def test_parse_assignments() -> None:
    assert parse_assignments(["temperature=0.5", " top_k = 40 ", "stop=a=b"]) == {
        "temperature": "0.5",
        "top_k": "40",
        "stop": "a=b",
    }
    with pytest.raises(InvalidParameterError) as caught:
        parse_assignments(["temperature"])
    assert str(caught.value).startswith("--param 'temperature' is not NAME=VALUE: write e.g. --param temperature=0.5")


def test_generate_request_body() -> None:
    params = GenerationParameters(max_new_tokens=32, top_k=40, repetition_penalty=1.1, stop=["\n"], seed=3)
    assert generate_request("Hi", params, stream=True) == {
        "inputs": "Hi",
        "parameters": {
            "max_new_tokens": 32,
            "do_sample": True,
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 40,
            "repetition_penalty": 1.1,
            "seed": 3,
            "stop": ["\n"],
            "return_full_text": False,
            "details": True,
        },
        "stream": True,
    }


def test_greedy_generate_leaves_out_every_sampling_knob() -> None:
    params = GenerationParameters(do_sample=False, top_k=40)
    assert generate_request("Hi", params, stream=False)["parameters"] == {
        "max_new_tokens": 256,
        "do_sample": False,
        "return_full_text": False,
        "details": True,
    }


def test_chat_request_maps_max_tokens_and_leaves_out_what_chat_lacks() -> None:
    params = GenerationParameters(
        max_new_tokens=16, top_k=40, repetition_penalty=1.2, return_full_text=True, stop=["</s>"], seed=1
    )
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert chat_request(messages, params, stream=False) == {
        "messages": messages,
        "max_tokens": 16,
        "temperature": 0.7,
        "top_p": 0.9,
        "stop": ["</s>"],
        "seed": 1,
        "stream": False,
    }


def test_greedy_chat_asks_for_temperature_zero() -> None:
    body = chat_request([{"role": "user", "content": "Hi"}], GenerationParameters(do_sample=False), stream=True)
    assert body == {
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 256,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_the_client_asks_for_the_token_counts_tgi_sends_only_when_asked() -> None:
    """Without `details` a generate stream has no finish reason or count; without `include_usage` a chat stream
    has no usage (TGI's defaults): the figures of every answer depend on asking."""
    params = GenerationParameters()
    assert generate_request("Hi", params, stream=True)["parameters"]["details"] is True
    assert generate_request("Hi", params, stream=False)["parameters"]["details"] is True
    assert chat_request([{"role": "user", "content": "Hi"}], params, stream=True)["stream_options"] == {
        "include_usage": True
    }
    assert "stream_options" not in chat_request([{"role": "user", "content": "Hi"}], params, stream=False)


@pytest.mark.parametrize(
    "messages",
    [[], [{"role": "robot", "content": "x"}], [{"role": "user"}], [{"role": "user", "content": 3}]],
)
def test_malformed_chat_messages_are_refused(messages: list) -> None:
    with pytest.raises(ConfigurationError):
        chat_request(messages, GenerationParameters(), stream=False)
