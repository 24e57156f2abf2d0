"""The Hugging Face token in use, and what the Hub said about whether a model needs one.

HUGGINGFACE_ACCESS_TOKEN wins; else the token `hf auth login` saved. It stays a `SecretStr` until the very call
that sends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


def hub_token(explicit: SecretStr | None) -> SecretStr | None:
    """The token in use for the Hub: HUGGINGFACE_ACCESS_TOKEN (preferred), else the one `hf auth login` saved."""
    if explicit is not None:
        return explicit
    from huggingface_hub import get_token  # deferred: only deploy-side callers need it

    token = get_token()
    return SecretStr(token) if token else None



def secret_or_false(token: SecretStr | None) -> str | bool:
    """The token to send, or False: never let huggingface_hub fall back to another token silently."""
    return token.get_secret_value() if token is not None else False


TOKEN_SETTING = "HUGGINGFACE_ACCESS_TOKEN"


@dataclass(frozen=True)
class ModelAccess:
    """What the Hub said about the model: whether downloading it needs a token (None: it could not be asked)."""

    needs_token: bool | None
    why: str
    """`gated`, `private`, `public and not gated`, or why the Hub could not be asked."""

    @classmethod
    def unknown(cls, why: str) -> ModelAccess:
        return cls(None, why)
