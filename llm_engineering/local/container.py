"""An emulated Hugging Face TGI container: the answers behind `/invocations`, without a model.

It speaks TGI's three request shapes (generate, chat, completion), plain and streamed as server-sent
events, validates parameters the way TGI's router does (422 with TGI's wording), and honours
`max_new_tokens`/`max_tokens`, `stop`, `seed`, `details` and `return_full_text`. Every answer begins with
the token `[emulated <model id>]`, so no one mistakes it for a model's output, and is a pure function of
the model id, the prompt and the seed. One sentence carries multi-byte characters on purpose: clients
must survive UTF-8 characters split across stream chunks.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_engineering.local import clock as emulated_clock
from llm_engineering.local.timing import Pace, Pacing, closing, fixed_pacing

TGI_VERSION = "3.3.6"
SYSTEM_FINGERPRINT = f"{TGI_VERSION}-native"
MAX_STOP_SEQUENCES = 4
EOS_TOKEN = "<|im_end|>"
EOS_TOKEN_ID = 151645
DEFAULT_MAX_NEW_TOKENS = 100

_SENTENCES = (
    "No model ran here: this text comes from the local emulator.",
    "A real endpoint would answer with the model's own words.",
    "Tokens arrive one by one, the way TGI streams them.",
    "Set HF_MODEL_ID to choose the model that SageMaker serves.",
    "The request and the endpoint are real; only the container is imagined.",
    "Multi-byte text survives the stream: café, naïve, 東京, ✓.",
)
_UNICODE_SENTENCE = _SENTENCES[-1]
_TOKEN_PATTERN = re.compile(r"\s*\S+")


class ValidationFailure(Exception):
    """A request TGI refuses; `body` is TGI's JSON answer, sent with HTTP 422."""

    def __init__(self, message: str, error_type: str = "validation") -> None:
        super().__init__(message)
        self.body = {"error": message, "error_type": error_type}


@dataclass
class ContainerReply:
    """What the container answers: status, content type and the body in the pieces it was produced in."""

    status: int
    content_type: str
    chunks: Iterator[bytes]

    def read(self) -> bytes:
        """The whole body (for InvokeEndpoint, which waits for the container to finish)."""
        return b"".join(self.chunks)


@dataclass(frozen=True)
class Token:
    id: int
    text: str
    logprob: float
    special: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "logprob": self.logprob, "special": self.special}


@dataclass
class Generation:
    """The tokens produced for one request and why generation ended."""

    tokens: list[Token] = field(default_factory=list)
    finish_reason: str = "eos_token"
    seed: int | None = None

    @property
    def text(self) -> str:
        return "".join(token.text for token in self.tokens if not token.special)


@dataclass(frozen=True)
class Sampling:
    """The parameters that shape one generation, already validated."""

    max_new_tokens: int
    stop: tuple[str, ...] = ()
    seed: int | None = None
    do_sample: bool = False


def tokenize(text: str) -> list[str]:
    """Split text into word-like tokens with their leading whitespace (what the emulator counts as tokens)."""
    return _TOKEN_PATTERN.findall(text)


def _token(text: str, special: bool = False) -> Token:
    digest = zlib.crc32(text.encode("utf-8"))
    return Token(id=digest % 150_000, text=text, logprob=-round((digest % 997) / 1000, 3), special=special)


class EmulatedTgi:
    """One container: the model id and launcher limits from its environment, answering requests."""

    def __init__(
        self,
        model_id: str,
        environment: Mapping[str, str] | None = None,
        *,
        token_delay: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = emulated_clock.time,
        pacing: Pacing | None = None,
    ) -> None:
        env = environment or {}
        self.model_id = model_id
        self.max_total_tokens = _int_env(env, "MAX_TOTAL_TOKENS", 4096)
        self.max_input_tokens = _int_env(env, "MAX_INPUT_TOKENS", _int_env(env, "MAX_INPUT_LENGTH", 4095))
        self.token_delay = token_delay
        self._sleep = sleep
        self._clock = clock
        self._pacing = pacing or fixed_pacing(token_delay, sleep)  # the timing model's, or the fixed delay

    # --- routing -----------------------------------------------------------------------------------------
    def invoke(self, body: bytes) -> ContainerReply:
        """Answer one `/invocations` request, choosing the route from the body as TGI's router does."""
        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return _error_reply(ValidationFailure(f"Failed to parse the request body as JSON: {error}"))
        if not isinstance(request, dict):
            return _error_reply(ValidationFailure("Failed to deserialize the JSON body into the target type"))
        try:
            if "messages" in request:
                return self._chat(request)
            if "prompt" in request:
                return self._completion(request)
            return self._generate(request)
        except ValidationFailure as failure:
            return _error_reply(failure)

    # --- generate ----------------------------------------------------------------------------------------
    def _generate(self, request: dict[str, Any]) -> ContainerReply:
        inputs = request.get("inputs")
        if not isinstance(inputs, str):
            raise ValidationFailure("Failed to deserialize the JSON body into the target type: missing field `inputs`")
        parameters = request.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValidationFailure("Failed to deserialize the JSON body into the target type: `parameters`")
        stream = _typed(request, "stream", bool, "bool", prefix="") or False
        sampling = self._validate(inputs, parameters, prefix="parameters.", max_tokens_name="max_new_tokens")
        generation = self.generate(inputs, sampling)
        prefix = inputs if _typed(parameters, "return_full_text", bool, "bool", "parameters.") else ""
        details = bool(_typed(parameters, "details", bool, "bool", "parameters."))
        if stream:
            pace = self._pacing(len(tokenize(inputs)), sampling.max_new_tokens)
            events = closing(self._generate_events(generation, prefix, details, pace), pace)
            return ContainerReply(200, "text/event-stream", events)
        answer: dict[str, Any] = {"generated_text": prefix + generation.text}
        if details:
            answer["details"] = {
                "finish_reason": generation.finish_reason,
                "generated_tokens": len(generation.tokens),
                "seed": generation.seed,
                "prefill": [],
                "tokens": [token.as_json() for token in generation.tokens],
            }
        return _json_reply([answer])

    def _generate_events(self, generation: Generation, prefix: str, details: bool, pace: Pace) -> Iterator[bytes]:
        """One event per token; the last one carries the whole text, and `details` only when the request asked
        for them (TGI's `parameters.details`, false by default): without them there is no finish reason."""
        last = len(generation.tokens)
        for index, token in enumerate(generation.tokens, start=1):
            pace()
            event: dict[str, Any] = {
                "index": index,
                "token": token.as_json(),
                "top_tokens": None,
                "generated_text": None,
                "details": None,
            }
            if index == last:
                event["generated_text"] = prefix + generation.text
            if index == last and details:
                event["details"] = {
                    "finish_reason": generation.finish_reason,
                    "generated_tokens": len(generation.tokens),
                    "seed": generation.seed,
                    "input_length": 0,
                }
            yield _sse(event)

    # --- chat and completion (OpenAI-compatible routes) -------------------------------------------------
    def _chat(self, request: dict[str, Any]) -> ContainerReply:
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValidationFailure("Input validation error: `messages` must be a non-empty list")
        texts = [_message_text(message, index) for index, message in enumerate(messages)]
        prompt = "".join(f"<|im_start|>{role}\n{content}<|im_end|>\n" for role, content in texts)
        question = next((content for role, content in reversed(texts) if role == "user"), texts[-1][1])
        return self._openai(request, prompt, question, chat=True)

    def _completion(self, request: dict[str, Any]) -> ContainerReply:
        prompt = request.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise ValidationFailure("Failed to deserialize the JSON body into the target type: `prompt`")
        return self._openai(request, prompt, prompt, chat=False)

    def _openai(self, request: dict[str, Any], prompt: str, question: str, *, chat: bool) -> ContainerReply:
        parameters = dict(request)
        temperature = _typed(request, "temperature", (int, float), "f32", "")
        if temperature == 0:  # OpenAI clients send 0 for greedy decoding; TGI maps it so
            parameters["temperature"] = None
        stop = request.get("stop")
        if isinstance(stop, str):
            parameters["stop"] = [stop]
        stream = _typed(request, "stream", bool, "bool", "") or False
        include_usage = _include_usage(request) if chat else True
        sampling = self._validate(prompt, parameters, prefix="", max_tokens_name="max_tokens", question=question)
        generation = self.generate(question, sampling)
        finish = "length" if generation.finish_reason == "length" else "stop"
        created = int(self._clock())
        usage = {
            "prompt_tokens": len(tokenize(prompt)),
            "completion_tokens": len(generation.tokens),
            "total_tokens": len(tokenize(prompt)) + len(generation.tokens),
        }
        head = {"id": "", "created": created, "model": self.model_id, "system_fingerprint": SYSTEM_FINGERPRINT}
        if stream:
            pace = self._pacing(usage["prompt_tokens"], sampling.max_new_tokens)
            events = self._openai_events(generation, head, finish, usage if include_usage else None, chat, pace)
            return ContainerReply(200, "text/event-stream", closing(events, pace))
        if chat:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": generation.text},
                "logprobs": None,
                "finish_reason": finish,
            }
            return _json_reply({"object": "chat.completion", **head, "choices": [choice], "usage": usage})
        choice = {"index": 0, "text": generation.text, "logprobs": None, "finish_reason": finish}
        return _json_reply({"object": "text_completion", **head, "choices": [choice], "usage": usage})

    def _openai_events(
        self,
        generation: Generation,
        head: dict[str, Any],
        finish: str,
        usage: dict[str, int] | None,
        chat: bool,
        pace: Pace,
    ) -> Iterator[bytes]:
        """A chunk per token. A chat stream reports `usage` only when asked (`stream_options.include_usage`), as
        TGI and OpenAI do: in one more chunk with no choices, after the finish reason and before `[DONE]`."""
        tokens = [token for token in generation.tokens if not token.special]
        for index, token in enumerate(tokens, start=1):
            pace()
            last = index == len(tokens)
            if chat:
                choice: dict[str, Any] = {"index": 0, "delta": {"role": "assistant", "content": token.text}}
                event: dict[str, Any] = {"object": "chat.completion.chunk", **head}
            else:
                choice = {"index": 0, "text": token.text}
                event = {"object": "text_completion", **head}
            choice.update({"logprobs": None, "finish_reason": finish if last else None})
            event["choices"] = [choice]
            if last and usage is not None and not chat:
                event["usage"] = usage
            yield _sse(event)
        if chat and usage is not None:
            yield _sse({"object": "chat.completion.chunk", **head, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    # --- the generation itself --------------------------------------------------------------------------
    def generate(self, prompt: str, sampling: Sampling) -> Generation:
        """The emulated answer to `prompt`: deterministic for a given model id, prompt and seed."""
        tokens = [f"[emulated {self.model_id}]", *tokenize(" " + self._answer(prompt, sampling.seed))]
        generation = Generation(seed=sampling.seed if sampling.do_sample else None)
        text = ""
        for piece in tokens:
            if len(generation.tokens) >= sampling.max_new_tokens:
                generation.finish_reason = "length"
                return generation
            generation.tokens.append(_token(piece))
            text += piece
            if any(stop in text for stop in sampling.stop):
                generation.finish_reason = "stop_sequence"
                return generation
        if len(generation.tokens) >= sampling.max_new_tokens:
            generation.finish_reason = "length"
            return generation
        generation.tokens.append(Token(id=EOS_TOKEN_ID, text=EOS_TOKEN, logprob=-0.001, special=True))
        return generation

    def _answer(self, prompt: str, seed: int | None) -> str:
        words = prompt.split()
        quoted = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
        digest = hashlib.sha256(f"{self.model_id}\0{prompt}\0{seed}".encode()).digest()
        first, second = digest[0] % (len(_SENTENCES) - 1), digest[1] % (len(_SENTENCES) - 1)
        chosen = [_SENTENCES[first]] + ([_SENTENCES[second]] if second != first else []) + [_UNICODE_SENTENCE]
        return f'You asked: "{quoted}". ' + " ".join(chosen)

    # --- validation (TGI router's rules and wording) ---------------------------------------------------
    def _validate(
        self,
        inputs: str,
        parameters: dict[str, Any],
        *,
        prefix: str,
        max_tokens_name: str,
        question: str | None = None,
    ) -> Sampling:
        """TGI router's checks, in its order and words; the sampling they leave."""
        numbers = _check_ranges(parameters, prefix)
        max_new_tokens = _typed(parameters, max_tokens_name, int, "u32", prefix)
        if max_new_tokens is not None and max_new_tokens <= 0:
            raise ValidationFailure("Input validation error: `max_new_tokens` must be strictly positive")
        stop = _check_stop(parameters, prefix)
        seed = _typed(parameters, "seed", int, "u32", prefix)
        do_sample = _typed(parameters, "do_sample", bool, "bool", prefix)
        if not inputs.strip() and question is None:
            raise ValidationFailure("Input validation error: `inputs` cannot be empty")
        limit = self._token_budget(inputs, max_new_tokens)
        sampled = bool(do_sample) or any(numbers.get(name) is not None for name in ("temperature", "top_k", "top_p"))
        if seed is None and sampled:
            seed = int.from_bytes(hashlib.sha256(inputs.encode("utf-8")).digest()[:4], "big")
        return Sampling(max_new_tokens=limit, stop=stop, seed=seed, do_sample=sampled)

    def _token_budget(self, inputs: str, max_new_tokens: int | None) -> int:
        """The tokens this request may generate, refusing prompts and asks over the launcher's limits."""
        input_tokens = len(tokenize(inputs))
        if input_tokens > self.max_input_tokens:
            raise ValidationFailure(
                f"Input validation error: `inputs` must have less than {self.max_input_tokens} tokens. "
                f"Given: {input_tokens}"
            )
        if max_new_tokens is not None and input_tokens + max_new_tokens > self.max_total_tokens:
            raise ValidationFailure(
                f"Input validation error: `inputs` tokens + `max_new_tokens` must be <= {self.max_total_tokens}. "
                f"Given: {input_tokens} `inputs` tokens and {max_new_tokens} `max_new_tokens`"
            )
        budget = self.max_total_tokens - input_tokens
        return max_new_tokens if max_new_tokens is not None else min(DEFAULT_MAX_NEW_TOKENS, max(budget, 1))


def _check_ranges(parameters: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The sampling numbers, each of its JSON type and in TGI's range."""

    def number(name: str, kind: str = "f32") -> Any:
        return _typed(parameters, name, int if kind == "u32" else (int, float), kind, prefix)

    values = {name: number(name) for name in ("temperature", "repetition_penalty", "frequency_penalty")}
    for name in ("temperature", "repetition_penalty"):
        if values[name] is not None and values[name] <= 0:
            raise ValidationFailure(f"Input validation error: `{name}` must be strictly positive")
    if values["frequency_penalty"] is not None and not -2 <= values["frequency_penalty"] <= 2:
        raise ValidationFailure("Input validation error: `frequency_penalty` must be >= -2.0 and <= 2.0")
    for name in ("top_p", "typical_p"):
        values[name] = number(name)
        if values[name] is not None and not 0 < values[name] < 1:
            raise ValidationFailure(f"Input validation error: `{name}` must be > 0.0 and < 1.0")
    values["top_k"] = number("top_k", "u32")
    if values["top_k"] is not None and values["top_k"] <= 0:
        raise ValidationFailure("Input validation error: `top_k` must be strictly positive")
    return values


def _check_stop(parameters: Mapping[str, Any], prefix: str) -> tuple[str, ...]:
    stop = parameters.get("stop") or []
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise ValidationFailure(
            f"Failed to deserialize the JSON body into the target type: {prefix}stop: expected a sequence of strings"
        )
    if len(stop) > MAX_STOP_SEQUENCES:
        raise ValidationFailure(
            f"Input validation error: `stop` supports up to {MAX_STOP_SEQUENCES} stop sequences. Given: {len(stop)}"
        )
    return tuple(stop)


def _typed(values: Mapping[str, Any], name: str, types: Any, kind: str, prefix: str) -> Any:
    """`values[name]` if absent, null or of the expected JSON type; else TGI's deserialization error."""
    value = values.get(name)
    if value is None:
        return None
    bad_bool = isinstance(value, bool) and kind != "bool"
    if bad_bool or not isinstance(value, types) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValidationFailure(
            f"Failed to deserialize the JSON body into the target type: {prefix}{name}: "
            f"invalid type: {json.dumps(value)}, expected {kind}"
        )
    return value


def _include_usage(request: Mapping[str, Any]) -> bool:
    """`stream_options.include_usage` of a chat request (TGI's `StreamOptions`; absent means false)."""
    options = request.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise ValidationFailure(
            "Failed to deserialize the JSON body into the target type: stream_options: invalid type: "
            f"{json.dumps(options)}, expected struct StreamOptions"
        )
    return bool(_typed(options, "include_usage", bool, "bool", "stream_options."))


def _message_text(message: Any, index: int) -> tuple[str, str]:
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise ValidationFailure(
            f"Failed to deserialize the JSON body into the target type: messages[{index}]: missing field `role`"
        )
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise ValidationFailure(
            f"Failed to deserialize the JSON body into the target type: messages[{index}]: missing field `content`"
        )
    return message["role"], content


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(env[name])
    except (KeyError, ValueError):
        return default


def _sse(event: dict[str, Any]) -> bytes:
    return b"data:" + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"


def _json_reply(answer: Any) -> ContainerReply:
    body = json.dumps(answer, ensure_ascii=False).encode("utf-8")
    return ContainerReply(200, "application/json", iter([body]))


def _error_reply(failure: ValidationFailure) -> ContainerReply:
    body = json.dumps(failure.body, separators=(",", ":")).encode("utf-8")
    return ContainerReply(422, "application/json", iter([body]))
