"""The Hub side of staging: the repository at one commit (its files, sizes, sha256), and file downloads.

Requests go through huggingface_hub's own HTTP client and endpoint (HF_ENDPOINT, proxies, offline mode
behave as for any Hub client); the token is sent as a header, as preflight sends it, and appears in
nothing this module returns. A refusal is one line naming the setting to fix, before anything exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    HfHubHTTPError,
)
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status
from pydantic import SecretStr

from llm_engineering.errors import ConfigurationError, UserFacingError
from llm_engineering.hub.models import offline_mode
from llm_engineering.hub.refusals import HUB_ERRORS, classify
from llm_engineering.hub.tokens import TOKEN_SETTING, secret_or_false

TIMEOUT = 30.0
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class HubEntry:
    """One file of the repository at the staged commit, as the Hub lists it."""

    name: str
    size: int
    blob_id: str
    sha256: str | None = None
    """The content's sha256 for LFS files (the Hub lists it); None for small files kept in git itself."""


class Hasher(Protocol):
    """What a download feeds each chunk to on its way to disk (the stage's digests: `weights.checksums`)."""

    def update(self, chunk: bytes) -> None: ...

    @property
    def sha256(self) -> str: ...


class HubRefused(ConfigurationError):
    """The Hub cannot give this model to the token in use (missing, gated, bad revision, offline)."""


class DownloadFailed(UserFacingError):
    """A file did not arrive whole: wrong size, wrong checksum, or the connection broke."""


@dataclass(frozen=True)
class HubListing:
    """The repository at the commit a stage copies."""

    model_id: str
    revision: str | None
    commit: str
    entries: tuple[HubEntry, ...]
    endpoint: str


def _refusal(error: Exception, model_id: str, revision: str | None, has_token: bool) -> HubRefused:
    """What `make stage-model` tells the user, from the Hub's one classification of the failure."""
    problem = classify(error).problem
    if problem == "revision":
        return HubRefused(
            f"HF_MODEL_REVISION={revision!r} is not a branch, tag or commit of {model_id}: fix it or unset it."
        )
    if problem == "gated":
        fix = (
            f"the token in {TOKEN_SETTING} has no access yet: request it on the model's page and wait for approval"
            if has_token
            else f"accept its conditions on the model's page and set {TOKEN_SETTING} (or run `hf auth login`)"
        )
        return HubRefused(f"HF_MODEL_ID={model_id} is gated on the Hub: {fix}.")
    if problem == "missing":
        seen = "with the token in use" if has_token else "without a token"
        return HubRefused(
            f"HF_MODEL_ID={model_id} was not found on the Hub {seen}: check the id, or set {TOKEN_SETTING} "
            "for a private model."
        )
    if problem == "token":
        return HubRefused(f"The Hub refused the token in {TOKEN_SETTING}: create a read token and set it again.")
    first = (str(error).strip().splitlines() or [""])[0]
    return HubRefused(
        f"The Hub could not be reached for {model_id} ({type(error).__name__}: {first}): check the network, "
        "HTTPS_PROXY or HF_ENDPOINT, then run make stage-model again."
    )


def list_repository(api: HfApi, model_id: str, revision: str | None, token: SecretStr | None) -> HubListing:
    """The files of `model_id` at `revision` (resolved to a commit), after checking the token may read them."""
    if offline_mode():
        raise HubRefused("HF_HUB_OFFLINE is set, but make stage-model downloads from the Hub: unset it.")
    secret = secret_or_false(token)
    try:
        info = api.model_info(model_id, revision=revision, files_metadata=True, token=secret, timeout=TIMEOUT)
        answer = get_session().get(
            f"{api.endpoint}/api/models/{model_id}/auth-check", headers=build_hf_headers(token=secret), timeout=TIMEOUT
        )
        hf_raise_for_status(answer)
    except HUB_ERRORS as error:
        raise _refusal(error, model_id, revision, token is not None) from None
    entries = tuple(
        HubEntry(
            name=sibling.rfilename,
            size=int(sibling.size or 0),
            blob_id=sibling.blob_id or "",
            sha256=sibling.lfs.sha256 if sibling.lfs else None,
        )
        for sibling in info.siblings or []
    )
    if not info.sha:
        raise HubRefused(f"The Hub gave no commit for {model_id}: check HF_ENDPOINT points at a Hub.")
    return HubListing(model_id, revision, info.sha, entries, api.endpoint)


def download(
    listing: HubListing,
    entry: HubEntry,
    token: SecretStr | None,
    destination: Path,
    digester: Hasher,
    on_bytes: Callable[[int], None],
) -> None:
    """Stream `entry` at the listing's commit into `destination`, hashing it on the way with `digester`.

    The size must be the Hub's, and for LFS files the sha256 too (the Hub lists it): a broken download is
    refused here, before it could reach S3.
    """
    url = f"{listing.endpoint}/{listing.model_id}/resolve/{listing.commit}/{quote(entry.name)}"
    received = 0
    headers = build_hf_headers(token=secret_or_false(token))
    try:
        with (
            get_session().stream("GET", url, headers=headers, timeout=TIMEOUT) as answer,
            destination.open("wb") as out,
        ):
            hf_raise_for_status(answer)
            for chunk in answer.iter_bytes(CHUNK_BYTES):
                out.write(chunk)
                digester.update(chunk)
                received += len(chunk)
                on_bytes(len(chunk))
    except (HfHubHTTPError, httpx2.TransportError) as error:
        first = (str(error).strip().splitlines() or [""])[0]
        raise DownloadFailed(
            f"Downloading {entry.name} from the Hub failed ({type(error).__name__}: {first})"
        ) from None
    if received != entry.size:
        raise DownloadFailed(f"{entry.name} arrived with {received} bytes, the Hub lists {entry.size}")
    if entry.sha256 is not None and digester.sha256 != entry.sha256:
        raise DownloadFailed(
            f"{entry.name} arrived with sha256 {digester.sha256}, the Hub lists {entry.sha256}: a corrupt download"
        )
