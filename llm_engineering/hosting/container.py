"""The TGI container's environment: the one place that turns the model spec into launcher options.

The SageMaker entrypoint of the Hugging Face TGI image maps HF_MODEL_ID, HF_MODEL_REVISION, SM_NUM_GPUS,
HF_MODEL_QUANTIZE and HF_MODEL_TRUST_REMOTE_CODE to launcher flags; the token limits are read by the
launcher under their own names. Limits left unset are left to TGI, which sizes the batch from free GPU
memory. The token stays a `SecretStr` until the very call that sends it.

The container gets a Hugging Face token only when the model needs one (gated or private, as the Hub says):
the token lands in the model's environment, where anyone allowed sagemaker:DescribeModel reads it in plain
text. When the Hub could not be asked (preflight skipped, offline, unreachable), only a token set on purpose
(HUGGINGFACE_ACCESS_TOKEN) is sent, never the one `hf auth login` saved for other uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from llm_engineering.hosting.spec import ModelSpec
from llm_engineering.hub.tokens import TOKEN_SETTING, ModelAccess, hub_token

ContainerEnvironment = dict[str, str | SecretStr]


def container_environment(
    model: ModelSpec, gpus_per_copy: int, token: SecretStr | None, model_dir: str | None = None
) -> ContainerEnvironment:
    """Environment for the TGI container serving `model` on `gpus_per_copy` GPUs.

    `model_dir`: the weights are already in the container (staged in S3, copied there by SageMaker), so
    TGI loads that directory, and neither a revision nor a Hub token means anything to it.
    """
    env: ContainerEnvironment = {
        "HF_MODEL_ID": model_dir or model.model_id,
        "SM_NUM_GPUS": str(gpus_per_copy),
        "MAX_INPUT_TOKENS": str(model.max_input_tokens),
        "MAX_TOTAL_TOKENS": str(model.max_total_tokens),
    }
    optional = {
        "HF_MODEL_REVISION": None if model_dir else model.revision,
        "HF_MODEL_QUANTIZE": model.quantize,
        "MAX_BATCH_PREFILL_TOKENS": model.max_batch_prefill_tokens,
        "MAX_BATCH_TOTAL_TOKENS": model.max_batch_total_tokens,
        "HF_MODEL_TRUST_REMOTE_CODE": "true" if model.trust_remote_code else None,
    }
    env.update({name: str(value) for name, value in optional.items() if value is not None})
    if token is not None and model_dir is None:
        env["HF_TOKEN"] = token
    return env


@dataclass(frozen=True)
class TokenChoice:
    """The token the container gets (None: none), and the plan's sentence saying why."""

    token: SecretStr | None
    note: str


def choose_token(model_id: str, explicit: SecretStr | None, access: ModelAccess) -> TokenChoice:
    """Send a token only where it is needed; say where it will be readable."""
    visible = "stored in the model's environment: anyone allowed sagemaker:DescribeModel on it can read it"
    if access.needs_token is False:
        return TokenChoice(None, f"not sent: {model_id} is {access.why} on the Hub, so the container needs none")
    if access.needs_token:
        token = hub_token(explicit)
        if token is None:
            return TokenChoice(None, f"none to send: {model_id} is {access.why} on the Hub; set {TOKEN_SETTING}")
        source = TOKEN_SETTING if explicit is not None else "the token `hf auth login` saved"
        return TokenChoice(token, f"sent ({source}; {model_id} is {access.why} on the Hub), {visible}")
    if explicit is not None:
        return TokenChoice(
            explicit,
            f"sent ({TOKEN_SETTING} is set, and the Hub could not tell if it is needed: {access.why}), {visible}",
        )
    return TokenChoice(
        None,
        f"not sent (the Hub could not tell if {model_id} needs one: {access.why}); set {TOKEN_SETTING} to send one",
    )
