"""Streamed answers: server-sent events inside SageMaker's response stream, turned into text pieces.

InvokeEndpointWithResponseStream hands over the container's server-sent events in `PayloadPart` chunks
whose boundaries ignore event, line and even UTF-8 character boundaries. `SseParser` therefore works
incrementally on bytes, and `TokenStream` turns the events of TGI's generate and chat routes into text
pieces plus timing figures, raising one precise exception when the stream breaks: an error event, a
connection that drops, bytes that are not event-stream framing, or a stream that simply ends before TGI's
final event (generate: the event with `details`; chat: `data: [DONE]`), so a partial answer never passes for
a whole one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from botocore.eventstream import ParserError
from botocore.exceptions import ClientError, HTTPClientError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from llm_engineering.errors import UserFacingError
from llm_engineering.refusals import error_code, error_field, error_message

DONE = "[DONE]"
"""The data of the event that ends an OpenAI-style (chat) stream."""

_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


class StreamFailedError(UserFacingError):
    """An answer stopped in the middle; `partial_text` keeps what had arrived."""

    def __init__(self, message: str, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class ModelStreamFailure(StreamFailedError):
    """The model container failed mid-answer (SageMaker `ModelStreamError`, or TGI's own error event)."""


class InternalStreamFailure(StreamFailedError):
    """SageMaker itself broke the stream (`InternalStreamFailure`); retrying usually works."""


class StreamTimeoutError(StreamFailedError):
    """Nothing arrived for longer than the request timeout."""


class StreamProtocolError(StreamFailedError):
    """The bytes were not the server-sent events of a TGI container, or not AWS event-stream framing."""


class StreamIncompleteError(StreamFailedError):
    """The stream ended before the container's final event: the answer is cut short."""


class SseParser:
    """Incremental server-sent events parser: feed bytes as they come, get the `data` of complete events.

    It splits lines on bytes and decodes whole lines only: a line break byte never occurs inside a
    UTF-8 sequence, so a character split across chunks is whole again before it is decoded. Line ends
    may be LF, CRLF or CR (a CR at the end of a chunk waits for the next one, which may start with LF).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """Add bytes; return the data of every event they complete (multi-line data joined by LF)."""
        self._buffer += chunk
        return self._drain(final=False)

    def finish(self) -> list[str]:
        """End of stream: a last event missing its blank line still counts (TGI ends every event)."""
        events = self._drain(final=True)
        if self._buffer:
            self._line(bytes(self._buffer))
            self._buffer.clear()
        if self._data:
            events.append(self._dispatch())
        return events

    def _drain(self, *, final: bool) -> list[str]:
        events: list[str] = []
        position = 0
        for match in _LINE_BREAK.finditer(self._buffer):
            if match.group() == b"\r" and match.end() == len(self._buffer) and not final:
                break  # may be the first half of CRLF
            line = bytes(self._buffer[position : match.start()])
            position = match.end()
            if line:
                self._line(line)
            elif self._data:
                events.append(self._dispatch())
        del self._buffer[:position]
        return events

    def _line(self, raw: bytes) -> None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StreamProtocolError(
                f"The endpoint sent a line that is not UTF-8 text ({raw[:40]!r}): "
                "check that it runs a Hugging Face TGI container."
            ) from None
        if line.startswith(":"):
            return  # a comment (keep-alive)
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value.removeprefix(" "))
        # `event`, `id` and `retry` carry nothing TGI uses.

    def _dispatch(self) -> str:
        data = "\n".join(self._data)
        self._data.clear()
        return data


@dataclass(frozen=True)
class GenerationStats:
    """Figures for one answer. `time_to_first_token` is None when the answer was not streamed."""

    tokens: int
    seconds: float
    time_to_first_token: float | None = None
    finish_reason: str | None = None

    @property
    def tokens_per_second(self) -> float | None:
        """Decoding speed: tokens after the first over the time after the first (prefill excluded).

        Without a first-token time (plain requests) it is tokens over the whole request.
        """
        first = self.time_to_first_token
        if first is not None and self.tokens > 1 and self.seconds > first:
            return (self.tokens - 1) / (self.seconds - first)
        if self.seconds > 0 and self.tokens > 0:
            return self.tokens / self.seconds
        return None

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values, rounded to what a person reads."""
        values = asdict(self)
        values["seconds"] = round(self.seconds, 3)
        if self.time_to_first_token is not None:
            values["time_to_first_token"] = round(self.time_to_first_token, 3)
        speed = self.tokens_per_second
        values["tokens_per_second"] = round(speed, 1) if speed is not None else None
        return values


class TokenStream:
    """The text pieces of one streamed answer as they arrive, then `stats`.

    `events` is the `Body` of an InvokeEndpointWithResponseStream response (an iterable of
    `{"PayloadPart": {"Bytes": ...}}`). Both TGI stream shapes are understood: generate events carry
    `token`, chat events carry `choices[0].delta`; a chat stream ends with `data: [DONE]`.
    Iterate it once; `close()` (or leaving a `with` block) drops the connection, e.g. on Ctrl-C.
    """

    def __init__(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        source: str,
        started: float,
        read_timeout: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
        close: Callable[[], None] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._events = events
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}
        """The HTTP headers of the response (names in lower case), e.g. how an emulator timed the answer."""
        self._source = source
        self._started = started
        self._read_timeout = read_timeout
        self._clock = clock
        self._close = close
        self._pieces: list[str] = []
        self._first_token_at: float | None = None
        self._token_events = 0
        self._reported_tokens: int | None = None
        self._finish_reason: str | None = None
        self._complete = False
        """Set by the final event: TGI generate's event with `details` (or `generated_text`), or `[DONE]`."""
        self._stats: GenerationStats | None = None
        self._iterator: Iterator[str] | None = None

    @property
    def text(self) -> str:
        """Everything received so far."""
        return "".join(self._pieces)

    @property
    def stats(self) -> GenerationStats | None:
        """Figures of the finished answer; None until the stream has ended."""
        return self._stats

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = self._read()
        return self._iterator

    def close(self) -> None:
        """Stop reading and release the connection."""
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> TokenStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _read(self) -> Iterator[str]:
        try:
            for data in self._event_data():
                if data == DONE:
                    self._complete = True
                    break
                piece = self._consume(data)
                if piece:
                    if self._first_token_at is None:
                        self._first_token_at = self._clock()
                    self._pieces.append(piece)
                    yield piece
        except ClientError as error:  # botocore's EventStreamError: an exception message in the stream
            raise self._stream_error(error) from None
        except (HTTPClientError, Urllib3Error) as error:
            raise self._transport_error(error) from None
        except ParserError as error:  # botocore's ChecksumMismatch, InvalidPayloadLength, ...
            raise StreamProtocolError(
                f"The answer stream from {self._source} is not AWS event-stream framing ({type(error).__name__}): "
                "retry; if it persists, check AWS_ENDPOINT_URL and any proxy between you and AWS.",
                self.text,
            ) from None
        finally:
            self.close()
        if not self._complete:
            raise StreamIncompleteError(
                f"The answer from {self._source} is incomplete: the stream ended after {self._token_events} "
                "token(s) without the container's final event (connection cut?): retry.",
                self.text,
            )
        finished = self._clock()
        first = None if self._first_token_at is None else self._first_token_at - self._started
        tokens = self._reported_tokens if self._reported_tokens is not None else self._token_events
        self._stats = GenerationStats(tokens, finished - self._started, first, self._finish_reason)

    def _event_data(self) -> Iterator[str]:
        parser = SseParser()
        for event in self._events:
            if "PayloadPart" in event:
                yield from parser.feed(event["PayloadPart"].get("Bytes", b""))
            elif "ModelStreamError" in event or "InternalStreamFailure" in event:
                raise ClientError({"Error": _error_fields(event)}, "InvokeEndpointWithResponseStream")
        yield from parser.finish()

    def _consume(self, data: str) -> str:
        """Account for one event; return its text (empty for special tokens and bookkeeping events)."""
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            raise StreamProtocolError(
                f"{self._source} sent an event that is not JSON ({data[:60]!r}): "
                "check that it runs a Hugging Face TGI container.",
                self.text,
            ) from None
        if not isinstance(event, dict):
            raise StreamProtocolError(f"{self._source} sent an unexpected event ({data[:60]!r}).", self.text)
        if "error" in event:  # TGI reports a failure after the stream started as an event
            raise ModelStreamFailure(
                f"The model on {self._source} failed mid-answer: {one_line(str(event['error']))}. "
                "Retry; if it persists, check the container logs in CloudWatch.",
                self.text,
            )
        if "choices" in event:
            return self._consume_chat(event)
        return self._consume_generate(event)

    def _consume_generate(self, event: dict[str, Any]) -> str:
        token = event.get("token") or {}
        details = event.get("details") or {}
        if details or event.get("generated_text") is not None:
            self._complete = True  # TGI's last generate event carries the whole text and (asked for) details
        if details:
            self._finish_reason = details.get("finish_reason", self._finish_reason)
            if isinstance(details.get("generated_tokens"), int):
                self._reported_tokens = details["generated_tokens"]
        if not token:
            return ""
        self._token_events += 1
        return "" if token.get("special") else str(token.get("text") or "")

    def _consume_chat(self, event: dict[str, Any]) -> str:
        usage = event.get("usage") or {}
        if isinstance(usage.get("completion_tokens"), int):
            self._reported_tokens = usage["completion_tokens"]
        choices = event.get("choices") or []
        if not choices:
            return ""
        choice = choices[0]
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else choice.get("text")  # chat, completion
        if not isinstance(content, str) or not content:  # vLLM's first chunk: the role with empty content
            return ""
        self._token_events += 1
        return content

    def _stream_error(self, error: ClientError) -> StreamFailedError:
        code = error_code(error)
        detail = one_line(error_message(error) or "no message")
        if code == "ModelStreamError":
            model_code = error_field(error, "ErrorCode") or error.response.get("ErrorCode")
            suffix = f" ({model_code})" if model_code else ""
            return ModelStreamFailure(
                f"The model on {self._source} failed mid-answer{suffix}: {detail}. "
                "Retry; if it persists, check the container logs in CloudWatch.",
                self.text,
            )
        if code == "InternalStreamFailure":
            return InternalStreamFailure(
                f"SageMaker broke the answer stream from {self._source} (InternalStreamFailure: {detail}): retry.",
                self.text,
            )
        return StreamFailedError(f"The answer stream from {self._source} failed ({code}: {detail}): retry.", self.text)

    def _transport_error(self, error: Exception) -> StreamFailedError:
        if isinstance(error, Urllib3ReadTimeoutError) or "timeout" in type(error).__name__.lower():
            waited = f"{self._read_timeout:g} s" if self._read_timeout else "the request timeout"
            return StreamTimeoutError(
                f"{self._source} sent nothing for {waited} in the middle of an answer: retry, "
                "ask for fewer tokens (max_new_tokens) or raise INFERENCE_REQUEST_TIMEOUT.",
                self.text,
            )
        return StreamFailedError(
            f"The connection to {self._source} broke mid-answer ({type(error).__name__}): retry.", self.text
        )


def _error_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """An error delivered as a modelled event (not an exception message), in ClientError's shape."""
    code = "ModelStreamError" if "ModelStreamError" in event else "InternalStreamFailure"
    return {"Code": code, **dict(event[code] or {})}


def one_line(text: str) -> str:
    """`text` on one line, without a final full stop (it is quoted inside a sentence)."""
    return " ".join(text.split()).rstrip(".")
