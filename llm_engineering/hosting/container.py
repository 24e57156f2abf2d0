"""The TGI container's environment: the one place that turns settings into launcher options.

The SageMaker entrypoint of the Hugging Face TGI image maps HF_MODEL_ID, HF_MODEL_REVISION, SM_NUM_GPUS,
HF_MODEL_QUANTIZE and HF_MODEL_TRUST_REMOTE_CODE to launcher flags; the token limits are read by the
launcher under their own names. Limits the settings leave unset are left to TGI, which sizes the batch
from free GPU memory. The token stays a `SecretStr` until the very call that sends it.
"""

from __future__ import annotations

from pydantic import SecretStr

from llm_engineering.settings import Settings

ContainerEnvironment = dict[str, str | SecretStr]


def container_environment(settings: Settings, gpus_per_copy: int, token: SecretStr | None) -> ContainerEnvironment:
    """Environment for the TGI container serving `settings.hf_model_id` on `gpus_per_copy` GPUs."""
    env: ContainerEnvironment = {
        "HF_MODEL_ID": settings.hf_model_id,
        "SM_NUM_GPUS": str(gpus_per_copy),
        "MAX_INPUT_TOKENS": str(settings.max_input_tokens),
        "MAX_TOTAL_TOKENS": str(settings.max_total_tokens),
    }
    optional = {
        "HF_MODEL_REVISION": settings.hf_model_revision,
        "HF_MODEL_QUANTIZE": settings.hf_model_quantize,
        "MAX_BATCH_PREFILL_TOKENS": settings.max_batch_prefill_tokens,
        "MAX_BATCH_TOTAL_TOKENS": settings.max_batch_total_tokens,
        "HF_MODEL_TRUST_REMOTE_CODE": "true" if settings.hf_model_trust_remote_code else None,
    }
    env.update({name: str(value) for name, value in optional.items() if value is not None})
    if token is not None:
        env["HF_TOKEN"] = token
    return env


def reveal(env: ContainerEnvironment) -> dict[str, str]:
    """The environment as SageMaker needs it, secrets included: use only to build the request."""
    return {name: value.get_secret_value() if isinstance(value, SecretStr) else value for name, value in env.items()}
