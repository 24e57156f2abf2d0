"""An emulated vLLM container (the Hugging Face vLLM DLC): OpenAI chat and text completions on `/invocations`.

As vLLM's SageMaker router does, `/invocations` tries the request types in order, chat completions first
(`messages`), then completions (`prompt`), and answers 400 "Cannot find suitable handler for request" to
anything else, TGI's `{"inputs": ...}` included. Errors are vLLM's nested `{"error": {message, type, param,
code}}`. The served model is `--model` (SM_VLLM_MODEL), its context `--max-model-len` (SM_VLLM_MAX_MODEL_LEN).
Wordings are vLLM's (vllm/entrypoints/openai/engine/serving.py, sagemaker/api_router.py); the one for a body
that is not JSON could not be checked against a running server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_engineering.local.container import Generation
from llm_engineering.local.engines.openai import Ask, OpenAIServer, Refusal, chat_prompt, messages_text, stream_flags

NO_HANDLER = "Cannot find suitable handler for request. Expected one of: ['ChatCompletionRequest', 'CompletionRequest']"
DEFAULT_COMPLETION_TOKENS = 16
"""vLLM's CompletionRequest.max_tokens default (chat has none: the rest of the context)."""
DEFAULT_MAX_MODEL_LEN = 32768


class EmulatedVllm(OpenAIServer):
    """vLLM's OpenAI server as the Hugging Face DLC starts it on SageMaker."""

    @classmethod
    def from_environment(cls, environment: Mapping[str, str], **options: Any) -> EmulatedVllm:
        model = environment.get("SM_VLLM_MODEL") or environment.get("HF_MODEL_ID") or "/opt/ml/model"
        try:
            max_model_len = int(environment.get("SM_VLLM_MAX_MODEL_LEN", DEFAULT_MAX_MODEL_LEN))
        except ValueError:
            max_model_len = DEFAULT_MAX_MODEL_LEN
        return cls(model, max_model_len, **options)

    def route(self, request: dict[str, Any]) -> Ask:
        if isinstance(request.get("messages"), list) and request["messages"]:
            return self._chat(request)
        if request.get("prompt") not in (None, "", []):
            return self._completion(request)
        raise Refusal(NO_HANDLER)

    def _options(self, request: Mapping[str, Any]) -> tuple[bool, bool]:
        stream, include_usage = stream_flags(request, usage_default=True)  # vLLM: StreamOptions.include_usage=True
        if request.get("stream_options") is not None and not stream:
            raise Refusal("Stream options can only be defined when `stream=True`.", param="stream_options")
        return stream, include_usage

    def _chat(self, request: dict[str, Any]) -> Ask:
        prompt, question = chat_prompt(messages_text(request["messages"]))
        stream, include_usage = self._options(request)
        sampling = self.sampling(request, prompt, None)
        return Ask(True, prompt, question, sampling, stream, include_usage, False, self._model(request))

    def _completion(self, request: dict[str, Any]) -> Ask:
        prompt = request["prompt"]
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise Refusal("Either prompt or prompt_embeds must be provided and non-empty.", param="prompt")
        stream, include_usage = self._options(request)
        sampling = self.sampling(request, prompt, DEFAULT_COMPLETION_TOKENS)
        echo = request.get("echo") is True
        return Ask(False, prompt, prompt, sampling, stream, include_usage, echo, self._model(request))

    def _model(self, request: Mapping[str, Any]) -> str:
        model = request.get("model")
        if model not in (None, self.model_id):
            raise Refusal(f"The model `{model}` does not exist.", 404, "model")
        return self.model_id

    def check_length(self, prompt_tokens: int, max_tokens: int | None) -> int:
        if prompt_tokens >= self.max_model_len:
            raise Refusal(
                f"This model's maximum context length is {self.max_model_len} tokens. However, your request has "
                f"{prompt_tokens} input tokens. Please reduce the length of the input messages.",
                param="input_tokens",
            )
        if max_tokens is not None and prompt_tokens + max_tokens > self.max_model_len:
            raise Refusal(
                f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's maximum context "
                f"length is {self.max_model_len} tokens and your request has {prompt_tokens} input tokens "
                f"({max_tokens} > {self.max_model_len} - {prompt_tokens}).",
                param="max_tokens",
            )
        return self.max_model_len - prompt_tokens

    def error_body(self, refusal: Refusal) -> dict[str, Any]:
        kind = "NotFoundError" if refusal.status == 404 else "BadRequestError"
        return {"error": {"message": refusal.message, "type": kind, "param": refusal.param, "code": refusal.status}}

    def choice_extras(self, generation: Generation, stop: str | None) -> dict[str, Any]:
        return {"stop_reason": stop}
