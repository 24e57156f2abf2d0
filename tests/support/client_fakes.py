"""A scripted stand-in for SageMaker over real HTTP, and the AWS event-stream encoding it answers with.

Tests point boto3 at `FakeSageMaker.url` (AWS_ENDPOINT_URL, or `endpoint_url`), queue the answers, and
assert the requests it recorded. Runtime calls (rest-json) and control-plane calls (json, X-Amz-Target)
share one queue, answered in order.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llm_engineering.local import eventstream

# --- AWS event-stream messages (the framing of InvokeEndpointWithResponseStream): the emulator's encoder ----

encode_message = eventstream.encode_message
payload_part = eventstream.payload_part
stream_exception = eventstream.stream_exception


def split(data: bytes, *sizes: int) -> list[bytes]:
    """`data` cut after each size in turn (the rest in one last piece), for PayloadPart boundaries."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(data[start : start + size])
        start += size
    pieces.append(data[start:])
    return [piece for piece in pieces if piece]


# --- Recorded TGI streams ----------------------------------------------------------------------------------


def sse(*events: dict[str, Any] | str) -> bytes:
    """Server-sent events as TGI writes them: `data:<json>` and a blank line each."""
    return b"".join(
        f"data:{event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)}\n\n".encode()
        for event in events
    )


def generate_events(tokens: list[str], finish_reason: str = "length", special_last: bool = False) -> list[dict]:
    """TGI generate stream events for `tokens` (the last one carries generated_text and details)."""
    events = []
    for index, text in enumerate(tokens, start=1):
        last = index == len(tokens)
        events.append(
            {
                "index": index,
                "token": {"id": 100 + index, "text": text, "logprob": -0.1, "special": special_last and last},
                "generated_text": "".join(tokens[:-1] if special_last else tokens) if last else None,
                "details": {"finish_reason": finish_reason, "generated_tokens": len(tokens), "seed": None}
                if last
                else None,
            }
        )
    return events


def chat_events(tokens: list[str], finish_reason: str = "stop", usage: bool = False) -> list[dict | str]:
    """TGI chat stream events for `tokens`, ending with `[DONE]`; with `usage`, TGI's usage chunk before it."""
    events: list[dict | str] = []
    for index, text in enumerate(tokens):
        last = index == len(tokens) - 1
        chunk: dict[str, Any] = {
            "object": "chat.completion.chunk",
            "id": "",
            "created": 1700000000,
            "model": "Qwen/Qwen2.5-7B-Instruct",
            "system_fingerprint": "3.3.6-sha-emulated",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": finish_reason if last else None,
                }
            ],
        }
        events.append(chunk)
    if usage:
        counts = {"prompt_tokens": 9, "completion_tokens": len(tokens), "total_tokens": 9 + len(tokens)}
        events.append({**events[-1], "choices": [], "usage": counts})  # type: ignore[dict-item]
    events.append("[DONE]")
    return events


# --- The fake server --------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted HTTP answer; `parts` are written one by one (chunked) when streaming."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    parts: list[bytes] | None = None
    delay: float = 0.0


def json_reply(body: Any, status: int = 200) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def runtime_error(code: str, message: str, status: int = 400, **fields: Any) -> Reply:
    """A SageMaker runtime (rest-json) error; `fields` are modelled members such as OriginalMessage."""
    return Reply(
        status,
        {"Content-Type": "application/json", "x-amzn-errortype": code},
        json.dumps({"message": message, **fields}).encode(),
    )


def control_error(code: str, message: str, status: int = 400) -> Reply:
    """A SageMaker control-plane (json protocol) error."""
    return Reply(
        status,
        {"Content-Type": "application/x-amz-json-1.1"},
        json.dumps({"__type": code, "message": message}).encode(),
    )


def stream_reply(messages: list[bytes], delay: float = 0.0) -> Reply:
    """An InvokeEndpointWithResponseStream answer made of event-stream messages."""
    return Reply(200, {"Content-Type": "application/vnd.amazon.eventstream"}, parts=messages, delay=delay)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def operation(self) -> str:
        """`SageMaker.DescribeEndpoint` for control-plane calls, the runtime path's last part otherwise."""
        return self.headers.get("x-amz-target") or self.path.rsplit("/", 1)[-1]

    def json(self) -> Any:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up (a closed stream, a timeout) are normal here, not worth a traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeSageMaker:
    """A local HTTP server answering queued replies in order and recording every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    def start(self) -> FakeSageMaker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: Request) -> Reply:
        self.requests.append(request)
        if not self._replies:
            return runtime_error("InternalFailure", f"no reply queued for {request.operation}", 500)
        return self._replies.popleft()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                reply = fake._next(Request("POST", self.path, headers, body))
                time.sleep(reply.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
                if reply.parts is None:
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for part in reply.parts:
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
