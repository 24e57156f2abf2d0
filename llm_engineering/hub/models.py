"""What the Hugging Face Hub says about the model, read without downloading any weights.

One `model_info` call gives existence, gating, the pipeline tag and the safetensors parameter counts (public
even for gated models); the auth-check endpoint tells whether the token in use may read the files; and
config.json (a few KB, only when readable) sizes the KV cache. Requests go through huggingface_hub's own
HTTP client, so HF_ENDPOINT, HF_HUB_OFFLINE and proxies behave as for any Hub client, each with a timeout.
The token is sent only as a header and never appears in what this module returns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from huggingface_hub import HfApi, constants
from huggingface_hub.constants import DEFAULT_REVISION, ENV_VARS_TRUE_VALUES
from huggingface_hub.errors import (
    RemoteEntryNotFoundError,
)
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status
from pydantic import SecretStr

from llm_engineering.hub.refusals import HUB_ERRORS, Problem, classify, describe
from llm_engineering.hub.tokens import ModelAccess, secret_or_false

TIMEOUT = 10.0
"""Seconds per Hub request: preflight must stay quick even behind a dead proxy."""
TEXT_GENERATION = "text-generation"
SOMETIMES_SERVED = frozenset({"image-text-to-text", "text2text-generation"})
"""Pipeline tags of models TGI serves for some architectures only."""
EXPAND = ["gated", "private", "pipeline_tag", "safetensors"]

_LOOKUP_PROBLEMS: dict[Problem, Problem] = {"gated": "missing", "denied": "unreachable"}
"""model_info describes gated models to anyone (only their files need access), so a refusal of it is read as
no such repository, and a 403 as the Hub not answering."""


@dataclass(frozen=True)
class HubModel:
    """The model as the Hub describes it to the token in use."""

    model_id: str
    page_url: str
    gated: str | None
    """"auto" or "manual" for gated models, None otherwise."""
    private: bool
    pipeline_tag: str | None
    parameters: dict[str, int] | None
    """Safetensors parameter counts per stored dtype; None when the Hub has no safetensors metadata."""
    readable: bool | None
    """Whether the token in use may download the files (None: could not be checked)."""
    access_note: str | None
    config: dict[str, Any] | None
    config_note: str | None
    """Why config.json is missing, when it is."""


@dataclass(frozen=True)
class HubLookup:
    """The model, or why the Hub could not describe it."""

    model: HubModel | None
    problem: Problem | None = None
    message: str = ""


def offline_mode() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub read it at import, or as the environment says now.

    huggingface_hub reads the variable once, when first imported; a process that set it later (or imported
    the library before its configuration was loaded) would otherwise reach the network against the user's word.
    """
    now = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").upper()
    return constants.is_offline_mode() or now in ENV_VARS_TRUE_VALUES


def _get(url: str, token: str | bool, timeout: float) -> Any:
    response = get_session().get(url, headers=build_hf_headers(token=token), timeout=timeout)
    hf_raise_for_status(response)
    return response


def _readable(api: HfApi, model_id: str, token: str | bool, timeout: float) -> tuple[bool | None, str | None]:
    """Whether the token may read the repository's files (the Hub's auth-check answers exactly that)."""
    try:
        _get(f"{api.endpoint}/api/models/{model_id}/auth-check", token, timeout)
    except HUB_ERRORS as error:
        refusal = classify(error)
        refused = refusal.problem in ("missing", "gated", "token", "denied")
        return (False if refused else None), refusal.detail
    return True, None


def _config(
    api: HfApi, model_id: str, revision: str | None, token: str | bool, timeout: float
) -> tuple[dict[str, Any] | None, str | None]:
    # Built from the client's own endpoint: huggingface_hub's URL template is fixed at import time.
    url = f"{api.endpoint}/{model_id}/resolve/{quote(revision or DEFAULT_REVISION, safe='')}/config.json"
    try:
        config = _get(url, token, timeout).json()
    except RemoteEntryNotFoundError:
        return None, "the repository has no config.json"
    except HUB_ERRORS as error:
        return None, f"config.json could not be read: {describe(error)}"
    except ValueError:
        return None, "config.json is not valid JSON"
    if not isinstance(config, dict):
        return None, "config.json is not a JSON object"
    return config, None


def look_up(
    api: HfApi, model_id: str, revision: str | None, token: SecretStr | None, timeout: float = TIMEOUT
) -> HubLookup:
    """Ask the Hub about the model: metadata, whether the token can read it, and its config.json."""
    secret = secret_or_false(token)
    if offline_mode():
        return HubLookup(None, "offline", "offline mode is on (HF_HUB_OFFLINE)")
    try:
        info = api.model_info(model_id, revision=revision, expand=EXPAND, token=secret, timeout=timeout)
    except HUB_ERRORS as error:
        refusal = classify(error)
        return HubLookup(None, _LOOKUP_PROBLEMS.get(refusal.problem, refusal.problem), refusal.detail)

    readable, access_note = _readable(api, model_id, secret, timeout)
    if readable is not False:
        config, config_note = _config(api, model_id, revision, secret, timeout)
    else:
        config, config_note = None, "config.json is not readable with the token in use"
    safetensors = info.safetensors
    gated = info.gated if isinstance(info.gated, str) else None
    return HubLookup(
        HubModel(
            model_id=model_id,
            page_url=f"{api.endpoint}/{model_id}",
            gated=gated,
            private=bool(info.private),
            pipeline_tag=info.pipeline_tag,
            parameters=dict(safetensors.parameters) if safetensors and safetensors.parameters else None,
            readable=readable,
            access_note=access_note,
            config=config,
            config_note=config_note,
        )
    )


def model_access(lookup: HubLookup) -> ModelAccess:
    """Whether the container needs a token for the model, as far as the Hub said (None when it could not say)."""
    model = lookup.model
    if model is None:
        return ModelAccess.unknown(lookup.message or "the Hub did not describe it")
    if model.gated:
        return ModelAccess(True, f"gated ({model.gated} approval)")
    if model.private:
        return ModelAccess(True, "private")
    return ModelAccess(False, "public and not gated")
