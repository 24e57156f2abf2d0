"""What the emulated vLLM and SGLang containers share: OpenAI-style chat and text completions, plain and streamed.

The generation itself is the TGI emulator's (`local.container.EmulatedTgi.generate`): the same labelled,
deterministic text, so every engine answers `[emulated <model id>] ...`. What differs per engine (which
requests `/invocations` routes, the error body, the wording of refusals, the usage fields) is given by the
subclasses. Streams are server-sent events, `data: {json}` and a blank line each, ending with
`data: [DONE]`; usage arrives in a last chunk without choices when `stream_options.include_usage` is true.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from llm_engineering.local import clock as emulated_clock
from llm_engineering.local.container import ContainerReply, EmulatedTgi, Generation, Sampling, tokenize
from llm_engineering.local.timing import Pace, Pacing, closing, fixed_pacing

CHAT_TEMPLATE = "<|im_start|>{role}\n{content}<|im_end|>\n"


class Refusal(Exception):
    """A request the engine refuses: HTTP status and the engine's message (the subclass shapes the body)."""

    def __init__(self, message: str, status: int = 400, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param


@dataclass(frozen=True)
class Ask:
    """One validated request: the text the model sees, the question it answers, and how to answer."""

    chat: bool
    prompt: str
    question: str
    sampling: Sampling
    stream: bool
    include_usage: bool
    echo: bool
    model: str


def sse(event: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"


def number(request: Mapping[str, Any], name: str, *, integer: bool = False) -> Any:
    """`request[name]` when absent, null or a JSON number of the right kind; else the engine's type error."""
    value = request.get(name)
    if value is None:
        return None
    wrong = isinstance(value, bool) or not isinstance(value, int if integer else (int, float))
    if wrong or (isinstance(value, float) and not math.isfinite(value)):
        kind = "a valid integer" if integer else "a valid number"
        raise Refusal(f"{name}: Input should be {kind}", 400, name)
    return value


def messages_text(messages: Any) -> list[tuple[str, str]]:
    """(role, content) of each chat message; a Refusal when `messages` is not a non-empty list of messages."""
    if not isinstance(messages, list) or not messages:
        raise Refusal("messages: Field required" if messages is None else "messages: Input should be a valid list")
    texts = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(role, str) or not isinstance(content, str):
            raise Refusal(f"messages.{index}: Input should be a valid chat message with a role and a content")
        texts.append((role, content))
    return texts


class OpenAIServer:
    """An emulated OpenAI-compatible engine behind SageMaker's `/invocations`."""

    object_chat = "chat.completion"
    served_model: str

    def __init__(
        self,
        model_id: str,
        max_model_len: int,
        *,
        token_delay: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = emulated_clock.time,
        pacing: Pacing | None = None,
    ) -> None:
        self.model_id = model_id
        self.max_model_len = max_model_len
        self._generator = EmulatedTgi(model_id, {"MAX_TOTAL_TOKENS": str(max_model_len)}, token_delay=0)
        self.token_delay = token_delay
        self._sleep = sleep
        self._clock = clock
        self._pacing = pacing or fixed_pacing(token_delay, sleep)

    # --- what each engine defines ------------------------------------------------------------------
    def route(self, request: dict[str, Any]) -> Ask:
        raise NotImplementedError

    def error_body(self, refusal: Refusal) -> dict[str, Any]:
        raise NotImplementedError

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
        return {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
        }

    def choice_extras(self, generation: Generation, stop: str | None) -> dict[str, Any]:
        """Engine-specific members of a choice (vLLM's `stop_reason`, SGLang's `matched_stop`)."""
        return {}

    # --- serving -----------------------------------------------------------------------------------
    def invoke(self, body: bytes) -> ContainerReply:
        """Answer one `/invocations` request."""
        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return self._refuse(Refusal(f"JSON decode error: {error}"))
        if not isinstance(request, dict):
            return self._refuse(Refusal("Input should be a valid dictionary or object to extract fields from"))
        try:
            ask = self.route(request)
        except Refusal as refusal:
            return self._refuse(refusal)
        generation = self._generator.generate(ask.question, ask.sampling)
        if ask.stream:
            pace = self._pacing(len(tokenize(ask.prompt)), ask.sampling.max_new_tokens)
            return ContainerReply(200, "text/event-stream", closing(self._events(ask, generation, pace), pace))
        return self._whole(ask, generation)

    def _refuse(self, refusal: Refusal) -> ContainerReply:
        body = json.dumps(self.error_body(refusal), separators=(",", ":")).encode("utf-8")
        return ContainerReply(refusal.status, "application/json", iter([body]))

    def sampling(self, request: Mapping[str, Any], prompt: str, default_max: int | None) -> Sampling:
        """The common checks (OpenAI fields and the context length) and the sampling they leave."""
        temperature = number(request, "temperature")
        if temperature is not None and temperature < 0:
            raise Refusal(f"temperature must be non-negative, got {temperature}.", param="temperature")
        top_p = number(request, "top_p")
        if top_p is not None and not 0 < top_p <= 1:
            raise Refusal(f"top_p must be in (0, 1], got {top_p}.", param="top_p")
        stop = request.get("stop") or []
        stop = [stop] if isinstance(stop, str) else stop
        if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
            raise Refusal("stop: Input should be a valid string or list of strings", param="stop")
        seed = number(request, "seed", integer=True)
        prompt_tokens = len(tokenize(prompt))
        max_tokens = number(request, "max_tokens", integer=True)
        if max_tokens is not None and max_tokens < 1:
            raise Refusal(f"max_tokens must be at least 1, got {max_tokens}.", param="max_tokens")
        limit = self.check_length(prompt_tokens, max_tokens)
        wanted = max_tokens if max_tokens is not None else (default_max or limit)
        return Sampling(min(wanted, limit), tuple(stop), seed, do_sample=bool(temperature))

    def check_length(self, prompt_tokens: int, max_tokens: int | None) -> int:
        """The tokens left for the answer; the engine's refusal when the request exceeds the context length."""
        raise NotImplementedError

    def _head(self, ask: Ask, kind: str) -> dict[str, Any]:
        prefix = "chatcmpl" if ask.chat else "cmpl"
        return {"id": f"{prefix}-{uuid.uuid4().hex}", "object": kind, "created": int(self._clock()), "model": ask.model}

    def _finish(self, generation: Generation, ask: Ask) -> tuple[str, str | None]:
        if generation.finish_reason == "length":
            return "length", None
        if generation.finish_reason == "stop_sequence":
            text = generation.text
            return "stop", next((stop for stop in ask.sampling.stop if stop in text), None)
        return "stop", None

    def _text(self, generation: Generation, ask: Ask) -> str:
        text = generation.text
        stop = self._finish(generation, ask)[1]
        if stop is not None:  # the stop string itself is not part of the answer
            text = text[: text.index(stop)]
        return (ask.prompt if ask.echo else "") + text

    def _whole(self, ask: Ask, generation: Generation) -> ContainerReply:
        finish, stop = self._finish(generation, ask)
        text = self._text(generation, ask)
        choice: dict[str, Any] = {"index": 0}
        if ask.chat:
            choice["message"] = {"role": "assistant", "content": text, "tool_calls": [], "reasoning_content": None}
        else:
            choice["text"] = text
        choice |= {"logprobs": None, "finish_reason": finish, **self.choice_extras(generation, stop)}
        usage = self.usage(len(tokenize(ask.prompt)), len(generation.tokens))
        kind = self.object_chat if ask.chat else "text_completion"
        answer = {**self._head(ask, kind), "choices": [choice], "usage": usage}
        return ContainerReply(200, "application/json", iter([json.dumps(answer, ensure_ascii=False).encode("utf-8")]))

    def _events(self, ask: Ask, generation: Generation, pace: Pace) -> Iterator[bytes]:
        head = self._head(ask, "chat.completion.chunk" if ask.chat else "text_completion")
        finish, stop = self._finish(generation, ask)
        pieces = [token.text for token in generation.tokens if not token.special]
        if stop is not None:
            pieces = tokenize(self._text(generation, ask))
        elif ask.echo:
            pieces = [ask.prompt, *pieces]
        if ask.chat:
            yield sse({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for index, piece in enumerate(pieces, start=1):
            pace()
            last = index == len(pieces)
            choice: dict[str, Any] = {"index": 0}
            choice |= {"delta": {"content": piece}} if ask.chat else {"text": piece}
            choice |= {"logprobs": None, "finish_reason": finish if last else None}
            if last:
                choice |= self.choice_extras(generation, stop)
            yield sse({**head, "choices": [choice]})
        if ask.include_usage:
            yield sse({**head, "choices": [], "usage": self.usage(len(tokenize(ask.prompt)), len(generation.tokens))})
        yield b"data: [DONE]\n\n"


def chat_prompt(texts: list[tuple[str, str]]) -> tuple[str, str]:
    """The prompt a chat template makes of the messages, and the question (the last user message) answered."""
    prompt = "".join(CHAT_TEMPLATE.format(role=role, content=content) for role, content in texts)
    question = next((content for role, content in reversed(texts) if role == "user"), texts[-1][1])
    return prompt, question


def stream_flags(request: Mapping[str, Any], *, usage_default: bool) -> tuple[bool, bool]:
    """(stream, include usage) of a request; `usage_default` is the engine's when `stream_options` is given."""
    stream = request.get("stream") or False
    if not isinstance(stream, bool):
        raise Refusal("stream: Input should be a valid boolean", param="stream")
    options = request.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise Refusal("stream_options: Input should be a valid dictionary", param="stream_options")
    include = (options or {}).get("include_usage", usage_default) if options is not None else False
    return stream, bool(include)
