"""The TGI container's environment: the one place that turns the model spec into launcher options.

The SageMaker entrypoint of the Hugging Face TGI image maps HF_MODEL_ID, HF_MODEL_REVISION, SM_NUM_GPUS,
HF_MODEL_QUANTIZE and HF_MODEL_TRUST_REMOTE_CODE to launcher flags; the token limits are read by the
launcher under their own names. Limits left unset are left to TGI, which sizes the batch from free GPU
memory. The token stays a `SecretStr` until the very call that sends it.
"""

from __future__ import annotations

from pydantic import SecretStr

from llm_engineering.hosting.spec import ModelSpec

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


def hub_token(explicit: SecretStr | None) -> SecretStr | None:
    """The token to give the container: HUGGINGFACE_ACCESS_TOKEN, else the one `hf auth login` saved."""
    if explicit is not None:
        return explicit
    from huggingface_hub import get_token  # deferred: only deploy-side callers need it

    token = get_token()
    return SecretStr(token) if token else None
