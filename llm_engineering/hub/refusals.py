"""One reading of what the Hub (or the way to it) refused, for preflight, staging and deploy alike.

huggingface_hub raises a family of exceptions (GatedRepoError is a RepositoryNotFoundError, a 401 is a plain
HfHubHTTPError) and its HTTP backend raises httpx errors for DNS, proxy and timeout failures. `classify` turns
any of them into one `Problem` and a short, token-free description, so each caller only words its own advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx2
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

Problem = Literal["offline", "unreachable", "missing", "gated", "revision", "disabled", "token", "denied"]
"""offline: HF_HUB_OFFLINE; unreachable: network, proxy, timeout or a server error; missing: no such repository
(also what the Hub answers for a private one the token cannot see); gated: the token may not read a gated one;
revision: no such branch, tag or commit; disabled: the repository was disabled; token: the Hub refused the
token itself (401); denied: the token may not read the files (403)."""

NETWORK_ERRORS = (OfflineModeIsEnabled, httpx2.TransportError)
"""What huggingface_hub's HTTP backend raises when no answer came back."""
HUB_ERRORS = (HfHubHTTPError, *NETWORK_ERRORS)
"""Everything a Hub request can raise that `classify` reads."""


@dataclass(frozen=True)
class Refusal:
    """What went wrong, and the Hub's own words for it (never the token)."""

    problem: Problem
    detail: str


def status_code(error: HfHubHTTPError) -> int | None:
    """The HTTP status of the Hub's answer, None when there was no answer."""
    return getattr(getattr(error, "response", None), "status_code", None)


def describe(error: Exception) -> str:
    """A short, token-free description of a Hub failure: the HTTP status and the Hub's own message if any."""
    if isinstance(error, HfHubHTTPError):
        status = status_code(error)
        message = (error.server_message or "").strip().splitlines()
        if status is not None and message:
            return f"HTTP {status}: {message[0]}"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def classify(error: Exception) -> Refusal:
    """The one classification of a Hub failure (the order matters: the most specific exception first)."""
    detail = describe(error)
    if isinstance(error, OfflineModeIsEnabled):
        return Refusal("offline", "offline mode is on (HF_HUB_OFFLINE)")
    if isinstance(error, RevisionNotFoundError):
        return Refusal("revision", detail)
    if isinstance(error, DisabledRepoError):
        return Refusal("disabled", detail)
    if isinstance(error, GatedRepoError):
        return Refusal("gated", detail)
    if isinstance(error, RepositoryNotFoundError):
        return Refusal("missing", detail)
    if isinstance(error, HfHubHTTPError):
        status = status_code(error)
        if status == 401:
            return Refusal("token", detail)
        if status == 403:
            return Refusal("denied", detail)
    return Refusal("unreachable", detail)
