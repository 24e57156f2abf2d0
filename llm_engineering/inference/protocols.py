"""How each serving engine is spoken to on SageMaker's `/invocations`: the request shapes, the answers, the errors.

TGI takes its generate request (`{"inputs", "parameters"}`) and its messages API; vLLM and SGLang speak
OpenAI's APIs there: vLLM chat completions (`messages`) and text completions (`prompt`), SGLang chat
completions only (its `/invocations` is typed `ChatCompletionRequest`), so text generation on SGLang sends the
prompt as one user message. Streams are server-sent events ending with `data: [DONE]`; with
`stream_options.include_usage` the token count arrives in a last chunk. Token counts and finish reasons
come from each engine's own fields (TGI's `details`, OpenAI's `usage` and `choices[].finish_reason`).

`FIELDS` is the one table of how a generation parameter is named in the OpenAI-style requests, and
`Protocol.unsupported` says which parameters an engine's API has no field for, so they are named when
ignored. TGI's own requests are built by `client.generate_request` / `client.chat_request`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_engineering.errors import ConfigurationError
from llm_engineering.inference.parameters import CHAT_UNSUPPORTED, GenerationParameters

Message = Mapping[str, str]
Builder = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Reply:
    """A whole answer as an engine's response gives it."""

    text: str
    tokens: int
    finish_reason: str | None


FIELDS: dict[str, str | None] = {
    "max_new_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",  # vLLM's and SGLang's extra sampling parameters, in both APIs
    "repetition_penalty": "repetition_penalty",
    "stop": "stop",
    "seed": "seed",
    "return_full_text": "echo",  # text completions only: the answer repeats the prompt
    "do_sample": None,  # greedy decoding is temperature 0
}
"""A generation parameter -> its field in the OpenAI-style requests of vLLM and SGLang."""


def openai_fields(params: GenerationParameters, *, completion: bool) -> dict[str, Any]:
    """The sampling fields of an OpenAI-style request; with do_sample false, temperature 0 (greedy)."""
    values = params.model_dump()
    sampled = {"temperature", "top_p", "top_k"}
    body: dict[str, Any] = {}
    for name, field in FIELDS.items():
        value = values[name]
        if field is None or value in (None, ()) or (name in sampled and not params.do_sample):
            continue
        if field == "echo":
            if completion and value:
                body["echo"] = True
            continue
        body[field] = list(value) if isinstance(value, tuple) else value
    if not params.do_sample:
        body["temperature"] = 0
    return body


ROLES = ("system", "user", "assistant")


_OTHER_SURROGATES = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def valid_text(text: str) -> str:
    """`text` as Unicode that UTF-8 can carry: bytes that were not UTF-8 (Python keeps those from argv and stdin
    as lone surrogates) become U+FFFD instead of reaching the endpoint as `\\udcff` escapes."""
    if not text.isascii():
        text = _OTHER_SURROGATES.sub("\ufffd", text)
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def checked_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """The chat messages as sent, or ConfigurationError for one that is not {role, content} (nothing is sent)."""
    checked = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if role not in ROLES or not isinstance(content, str):
            raise ConfigurationError(
                f"Chat message {dict(message)!r} is not {{'role': 'system'|'user'|'assistant', 'content': str}}."
            )
        checked.append({"role": role, "content": valid_text(content)})
    if not checked:
        raise ConfigurationError("A chat request needs at least one message.")
    return checked


def _stream_fields(stream: bool) -> dict[str, Any]:
    # vLLM refuses stream_options on a request that does not stream; SGLang sends usage only when asked.
    return {"stream": True, "stream_options": {"include_usage": True}} if stream else {"stream": False}


def openai_chat(messages: Sequence[Message], params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """A chat completions request (vLLM, SGLang): the container applies the model's chat template."""
    return {"messages": checked_messages(messages), **openai_fields(params, completion=False), **_stream_fields(stream)}


def openai_completion(prompt: str, params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """A text completions request (vLLM): the prompt as is, no chat template."""
    return {"prompt": valid_text(prompt), **openai_fields(params, completion=True), **_stream_fields(stream)}


def prompt_as_chat(prompt: str, params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """SGLang has no text completions on /invocations: the prompt goes as one user message."""
    return openai_chat([{"role": "user", "content": prompt}], params, stream=stream)


# --- Answers -----------------------------------------------------------------------------------------------


def _first_choice(answer: Any) -> dict[str, Any] | None:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    return choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None


def _completion_tokens(answer: dict[str, Any]) -> int:
    tokens = (answer.get("usage") or {}).get("completion_tokens")
    return tokens if isinstance(tokens, int) else 0


def read_chat(answer: Any) -> Reply | None:
    """An OpenAI-style chat completion (TGI's messages API answers the same way); None when it is not one."""
    choice = _first_choice(answer)
    message = choice.get("message") if choice else None
    if not isinstance(message, dict) or not isinstance(message.get("content", ""), str | None):
        return None
    return Reply(message.get("content") or "", _completion_tokens(answer), choice.get("finish_reason"))  # type: ignore[union-attr]


def read_completion(answer: Any) -> Reply | None:
    """An OpenAI-style text completion (vLLM); None when it is not one."""
    choice = _first_choice(answer)
    if choice is None or not isinstance(choice.get("text"), str):
        return None
    return Reply(choice["text"], _completion_tokens(answer), choice.get("finish_reason"))


def read_tgi_generate(answer: Any) -> Reply | None:
    """TGI's generate answer (`[{"generated_text", "details"}]`): the token count from its `details`."""
    item = answer[0] if isinstance(answer, list) and answer else answer
    if not isinstance(item, dict) or not isinstance(item.get("generated_text"), str):
        return None
    details = item.get("details") or {}
    tokens = details.get("generated_tokens")
    return Reply(item["generated_text"], tokens if isinstance(tokens, int) else 0, details.get("finish_reason"))


# --- Errors ------------------------------------------------------------------------------------------------


def tgi_error(body: Any) -> str | None:
    """TGI's `{"error": "...", "error_type": "..."}`."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return None


def vllm_error(body: Any) -> str | None:
    """vLLM's `{"error": {"message": ...}}` (older releases answered in the flat shape SGLang still uses)."""
    inner = body.get("error") if isinstance(body, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        return inner["message"]
    return None


def sglang_error(body: Any) -> str | None:
    """SGLang's flat `{"object": "error", "message": ...}`."""
    if isinstance(body, dict) and body.get("object") == "error" and isinstance(body.get("message"), str):
        return body["message"]
    return None


def error_text(body: Any) -> str | None:
    """The message of any engine's error body, None when it is none of theirs."""
    return tgi_error(body) or vllm_error(body) or sglang_error(body)


# --- The engines -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Protocol:
    """One engine's API on /invocations."""

    engine: str
    label: str
    generate_body: Builder
    chat_body: Builder
    read_generate: Callable[[Any], Reply | None]
    unsupported_generate: tuple[str, ...]
    unsupported_chat: tuple[str, ...]
    own_error: Callable[[Any], str | None]
    """The message of an error body in this engine's own format, None for another engine's."""
    generate_note: str | None = None

    def build(self, chat: bool, request: Any, params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
        return (self.chat_body if chat else self.generate_body)(request, params, stream=stream)

    def read(self, chat: bool, answer: Any) -> Reply | None:
        return read_chat(answer) if chat else self.read_generate(answer)

    def unsupported(self, chat: bool) -> tuple[str, ...]:
        return self.unsupported_chat if chat else self.unsupported_generate

    def notes(self, chat: bool, names: Iterable[str]) -> list[str]:
        """Why parameters in `names` are not sent in this mode, and how the mode is served, for people."""
        api = "chat" if chat else "text generation"
        lacking = self.unsupported(chat)
        found = [f"{self.label}'s {api} API has no {name}: not sent" for name in names if name in lacking]
        if not chat and self.generate_note:
            found.append(self.generate_note)
        return found


def tgi_protocol(generate_body: Builder, chat_body: Builder) -> Protocol:
    """TGI's API: its generate request and its messages API, both built by the client."""
    return Protocol("tgi", "TGI", generate_body, chat_body, read_tgi_generate, (), CHAT_UNSUPPORTED, tgi_error)


VLLM = Protocol("vllm", "vLLM", openai_completion, openai_chat, read_completion, (), ("return_full_text",), vllm_error)
SGLANG = Protocol(
    "sglang",
    "SGLang",
    prompt_as_chat,
    openai_chat,
    read_chat,
    ("return_full_text",),
    ("return_full_text",),
    sglang_error,
    generate_note="SGLang's /invocations serves chat completions only: the prompt was sent as one user message, "
    "so the model's chat template applied",
)
