"""An emulated SGLang container (the Hugging Face SGLang DLC): chat completions, and only those, on `/invocations`.

SGLang's `/invocations` takes a typed `ChatCompletionRequest`: a body without `messages` (TGI's
`{"inputs": ...}`, or a completions `{"prompt": ...}`) fails validation, which SGLang answers with 400 (it
overrides FastAPI's 422) in its flat error body `{"object": "error", "message", "type": "Bad Request",
"param", "code": 400}`. Usage in a stream only with `stream_options.include_usage` (False by default); the
request's model defaults to "default". The validation message's exact text and the length refusal's wording
are modelled on SGLang's code but were not checked against a running server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_engineering.local.container import EOS_TOKEN_ID, Generation
from llm_engineering.local.engines.openai import Ask, OpenAIServer, Refusal, chat_prompt, messages_text, stream_flags

DEFAULT_CONTEXT_LENGTH = 32768
DEFAULT_MODEL_NAME = "default"


class EmulatedSglang(OpenAIServer):
    """SGLang's server as the Hugging Face DLC's entrypoint starts it on SageMaker."""

    @classmethod
    def from_environment(cls, environment: Mapping[str, str], **options: Any) -> EmulatedSglang:
        model = environment.get("SM_SGLANG_MODEL_PATH") or "/opt/ml/model"  # the entrypoint's default
        try:
            context = int(environment.get("SM_SGLANG_CONTEXT_LENGTH", DEFAULT_CONTEXT_LENGTH))
        except ValueError:
            context = DEFAULT_CONTEXT_LENGTH
        return cls(model, context, **options)

    def route(self, request: dict[str, Any]) -> Ask:
        try:
            texts = messages_text(request.get("messages"))
        except Refusal as refusal:
            raise Refusal(f"1 validation error for ChatCompletionRequest: {refusal.message}") from None
        prompt, question = chat_prompt(texts)
        stream, include_usage = stream_flags(request, usage_default=False)
        sampling = self.sampling(request, prompt, None)
        model = request.get("model") if isinstance(request.get("model"), str) else DEFAULT_MODEL_NAME
        return Ask(True, prompt, question, sampling, stream, include_usage, False, model)

    def check_length(self, prompt_tokens: int, max_tokens: int | None) -> int:
        total = prompt_tokens + (max_tokens or 0)
        if prompt_tokens >= self.max_model_len or total > self.max_model_len:
            raise Refusal(
                f"Requested token count exceeds the model's maximum context length of {self.max_model_len} tokens. "
                f"You requested a total of {total} tokens: {prompt_tokens} tokens from the input messages and "
                f"{max_tokens or 0} tokens for the completion. Please reduce the number of tokens in the input "
                "messages or the completion to fit within the limit."
            )
        return self.max_model_len - prompt_tokens

    def error_body(self, refusal: Refusal) -> dict[str, Any]:
        return {"object": "error", "message": refusal.message, "type": "Bad Request", "param": None, "code": 400}

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
        return {**super().usage(prompt_tokens, completion_tokens), "reasoning_tokens": 0}

    def choice_extras(self, generation: Generation, stop: str | None) -> dict[str, Any]:
        if stop is not None:
            return {"matched_stop": stop}
        return {"matched_stop": None if generation.finish_reason == "length" else EOS_TOKEN_ID}
