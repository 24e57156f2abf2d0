"""Secrets in and out: kept as `SecretStr` until the call that sends them, hidden everywhere they are shown.

Three directions, one home: `reveal` unwraps a request just before it is sent, `hide` replaces every
`SecretStr` for display (plans, dry runs), and `scrub` removes known secret strings from text that came
back from elsewhere (container logs, AWS messages, Hub answers) before anyone sees it. A value that merely
looks like a Hugging Face token (pasted into the wrong setting or argument) is caught by `looks_like_token`
and `mask_tokens`, so no error line, plan or tag echoes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

REDACTED = "<redacted>"

TOKEN_PATTERN = re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}")
"""Hugging Face user access tokens: `hf_` and (today) 34 letters; 20 or more count, to catch shorter variants."""


def looks_like_token(text: str) -> bool:
    """True when `text` contains something shaped like a Hugging Face access token."""
    return TOKEN_PATTERN.search(text) is not None


def mask_tokens(text: str) -> str:
    """`text` with everything shaped like a Hugging Face access token replaced by `<redacted>`."""
    return TOKEN_PATTERN.sub(REDACTED, text)


def reveal(value: Any) -> Any:
    """`value` with every nested `SecretStr` unwrapped: only for the request that needs the secret."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [reveal(item) for item in value]
    return value


def hide(value: Any) -> Any:
    """`value` with every nested `SecretStr` shown as `<redacted>`."""
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, dict):
        return {key: hide(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [hide(item) for item in value]
    return value


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """`value` (text, or nested dicts and lists of it) with every occurrence of a secret replaced."""
    hidden = [secret for secret in secrets if secret]
    if not hidden:
        return value
    if isinstance(value, str):
        for secret in hidden:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: scrub(item, hidden) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, hidden) for item in value]
    return value
