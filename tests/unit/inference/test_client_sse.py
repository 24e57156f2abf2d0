"""The server-sent events parser and TokenStream, under every way PayloadPart chunks can cut a stream."""

from __future__ import annotations

import itertools
import json

import pytest
from botocore.exceptions import EventStreamError, ReadTimeoutError
from client_fakes import chat_events, generate_events, sse

from llm_engineering.inference.streaming import (
    GenerationStats,
    InternalStreamFailure,
    ModelStreamFailure,
    SseParser,
    StreamFailedError,
    StreamProtocolError,
    StreamTimeoutError,
    TokenStream,
)

TOKENS = ["The", " capital", " of", " France", " is", " Paris", " (é, 漢, 😀)", "."]
GENERATE = sse(*generate_events(TOKENS))
CHAT = sse(*chat_events(TOKENS, usage=True))
MULTIBYTE = sse({"token": {"text": "é"}}, {"token": {"text": "漢字"}}, {"token": {"text": "😀👍"}})


def _parse(*chunks: bytes) -> list[str]:
    parser = SseParser()
    events = [data for chunk in chunks for data in parser.feed(chunk)]
    return events + parser.finish()


def _expected(stream: bytes) -> list[str]:
    return [line.removeprefix("data:") for line in stream.decode().split("\n\n") if line]


@pytest.mark.parametrize("stream", [GENERATE, CHAT, MULTIBYTE], ids=["generate", "chat", "multibyte"])
def test_every_split_point_gives_the_same_events(stream: bytes) -> None:
    expected = _expected(stream)
    for cut in range(len(stream) + 1):
        assert _parse(stream[:cut], stream[cut:]) == expected, f"split at byte {cut}"


def test_every_pair_of_cuts_inside_multibyte_characters() -> None:
    expected = _expected(MULTIBYTE)
    for first, second in itertools.combinations(range(len(MULTIBYTE) + 1), 2):
        chunks = (MULTIBYTE[:first], MULTIBYTE[first:second], MULTIBYTE[second:])
        assert _parse(*chunks) == expected, f"cuts at {first}, {second}"


@pytest.mark.parametrize("stream", [GENERATE, CHAT], ids=["generate", "chat"])
def test_byte_by_byte_and_whole(stream: bytes) -> None:
    expected = _expected(stream)
    assert _parse(*(stream[i : i + 1] for i in range(len(stream)))) == expected
    assert _parse(stream) == expected


def test_several_events_in_one_chunk_come_out_in_order() -> None:
    parser = SseParser()
    assert parser.feed(b'data:{"a":1}\n\ndata: {"b":2}\n\ndata:{"c"') == ['{"a":1}', '{"b":2}']
    assert parser.feed(b":3}\n\n") == ['{"c":3}']
    assert parser.finish() == []


def test_crlf_and_cr_line_ends_split_anywhere() -> None:
    for stream in (b"data: one\r\n\r\ndata: two\r\n\r\n", b"data: one\r\rdata: two\r\r"):
        for cut in range(len(stream) + 1):
            assert _parse(stream[:cut], stream[cut:]) == ["one", "two"], (stream, cut)


def test_comments_other_fields_and_multiline_data() -> None:
    stream = b": keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata: first\ndata:second\n\n"
    assert _parse(stream) == ["first\nsecond"]


def test_done_marker_is_an_event_like_any_other() -> None:
    assert _parse(b"data: [DONE]\n\n") == ["[DONE]"]


def test_a_last_event_without_blank_line_is_kept_at_the_end() -> None:
    parser = SseParser()
    assert parser.feed(b'data:{"x":1}\n\ndata:{"y":2}') == ['{"x":1}']
    assert parser.finish() == ['{"y":2}']


def test_invalid_utf8_is_refused_with_one_line() -> None:
    with pytest.raises(StreamProtocolError) as caught:
        _parse(b"data: \xff\xfe\n\n")
    assert str(caught.value) == (
        "The endpoint sent a line that is not UTF-8 text (b'data: \\xff\\xfe'): "
        "check that it runs a Hugging Face TGI container."
    )


# --- TokenStream ------------------------------------------------------------------------------------------


def _clock(*ticks: float):
    values = iter(ticks)
    return lambda: next(values)


def _token_stream(*chunks: bytes, clock=None) -> TokenStream:
    events = [{"PayloadPart": {"Bytes": chunk}} for chunk in chunks]
    return TokenStream(
        events, source="endpoint 'e'", started=0.0, read_timeout=30, clock=clock or itertools.count(1).__next__
    )


@pytest.mark.parametrize("stream", [GENERATE, CHAT], ids=["generate", "chat"])
def test_token_stream_yields_each_token_whatever_the_chunking(stream: bytes) -> None:
    for cut in range(len(stream) + 1):
        tokens = _token_stream(stream[:cut], stream[cut:])
        assert list(tokens) == TOKENS, f"split at byte {cut}"
        assert tokens.text == "".join(TOKENS)
        assert tokens.stats is not None and tokens.stats.tokens == len(TOKENS)


def test_generate_stats_time_to_first_token_and_speed() -> None:
    # started at 0; first token read at 0.5; stream ends at 2.5 -> 7 tokens after the first in 2 s.
    tokens = _token_stream(GENERATE, clock=_clock(0.5, 2.5))
    assert list(tokens) == TOKENS
    assert tokens.stats == GenerationStats(tokens=8, seconds=2.5, time_to_first_token=0.5, finish_reason="length")
    assert tokens.stats.tokens_per_second == 3.5
    assert tokens.stats.as_dict() == {
        "tokens": 8,
        "seconds": 2.5,
        "time_to_first_token": 0.5,
        "finish_reason": "length",
        "tokens_per_second": 3.5,
    }


def test_stats_are_none_until_the_stream_ends() -> None:
    tokens = _token_stream(GENERATE)
    iterator = iter(tokens)
    assert next(iterator) == "The"
    assert tokens.stats is None
    list(iterator)
    assert tokens.stats is not None


def test_generate_special_tokens_are_counted_not_shown() -> None:
    stream = sse(*generate_events(["Hi", "!", "<|im_end|>"], finish_reason="eos_token", special_last=True))
    tokens = _token_stream(stream)
    assert list(tokens) == ["Hi", "!"]
    assert (tokens.stats.tokens, tokens.stats.finish_reason) == (3, "eos_token")


def test_chat_stops_at_done_and_prefers_the_reported_usage() -> None:
    late = b'data:{"choices":[{"index":0,"delta":{"content":"late"},"finish_reason":null}]}\n\n'
    tokens = _token_stream(sse(*chat_events(["a", "b"])) + late)
    assert list(tokens) == ["a", "b"]
    assert (tokens.stats.tokens, tokens.stats.finish_reason) == (2, "stop")
    events = chat_events(["a", "b"], usage=True)
    events[2]["usage"]["completion_tokens"] = 5  # TGI's usage chunk, after the last token's
    reported = _token_stream(sse(*events))
    list(reported)
    assert reported.stats.tokens == 5


def test_tgi_error_event_mid_stream_keeps_the_partial_text() -> None:
    token = {"index": 1, "token": {"id": 5, "text": "Par", "logprob": -0.1, "special": False}, "details": None}
    error = {"error": "Request failed during generation: Server error: CUDA out of memory.", "error_type": "generation"}
    tokens = _token_stream(sse(token, error))
    with pytest.raises(ModelStreamFailure) as caught:
        list(tokens)
    assert str(caught.value) == (
        "The model on endpoint 'e' failed mid-answer: Request failed during generation: Server error: "
        "CUDA out of memory. Retry; if it persists, check the container logs in CloudWatch."
    )
    assert caught.value.partial_text == "Par"


def _failing_events(error: Exception):
    yield {"PayloadPart": {"Bytes": sse(*chat_events(["Hel"]))[:-30]}}
    raise error


@pytest.mark.parametrize(
    ("code", "kind", "message"),
    [
        (
            "ModelStreamError",
            ModelStreamFailure,
            "The model on endpoint 'e' failed mid-answer: Container crashed. "
            "Retry; if it persists, check the container logs in CloudWatch.",
        ),
        (
            "InternalStreamFailure",
            InternalStreamFailure,
            "SageMaker broke the answer stream from endpoint 'e' (InternalStreamFailure: Container crashed): retry.",
        ),
    ],
)
def test_mid_stream_exceptions_become_precise_errors(code: str, kind: type, message: str) -> None:
    error = EventStreamError(
        {"Error": {"Code": code, "Message": "Container crashed."}}, "InvokeEndpointWithResponseStream"
    )
    tokens = _token_stream()
    tokens._events = _failing_events(error)
    with pytest.raises(kind) as caught:
        list(tokens)
    assert str(caught.value) == message


def test_mid_stream_errors_delivered_as_modelled_events() -> None:
    events = [
        {"PayloadPart": {"Bytes": sse(*generate_events(["a", "b"]))[:120]}},
        {"ModelStreamError": {"Message": "boom", "ErrorCode": "ModelError"}},
    ]
    tokens = TokenStream(events, source="endpoint 'e'", started=0.0)
    with pytest.raises(ModelStreamFailure) as caught:
        list(tokens)
    assert str(caught.value) == (
        "The model on endpoint 'e' failed mid-answer (ModelError): boom. "
        "Retry; if it persists, check the container logs in CloudWatch."
    )


def test_read_timeout_mid_stream() -> None:
    tokens = _token_stream()
    tokens._events = _failing_events(ReadTimeoutError(endpoint_url="http://x"))
    with pytest.raises(StreamTimeoutError) as caught:
        list(tokens)
    assert str(caught.value) == (
        "endpoint 'e' sent nothing for 30 s in the middle of an answer: retry, ask for fewer tokens "
        "(max_new_tokens) or raise INFERENCE_REQUEST_TIMEOUT."
    )
    assert isinstance(caught.value, StreamFailedError)


def test_non_json_event_is_refused() -> None:
    with pytest.raises(StreamProtocolError) as caught:
        list(_token_stream(b"data: <html>oops</html>\n\n"))
    assert str(caught.value) == (
        "endpoint 'e' sent an event that is not JSON ('<html>oops</html>'): "
        "check that it runs a Hugging Face TGI container."
    )


def test_close_is_called_once_when_the_stream_ends_or_is_dropped() -> None:
    closed = []
    tokens = TokenStream(
        [{"PayloadPart": {"Bytes": GENERATE}}], source="e", started=0.0, close=lambda: closed.append(1)
    )
    with tokens:
        next(iter(tokens))
    assert closed == [1]
    assert json.loads(json.dumps(tokens.text)) == "The"
