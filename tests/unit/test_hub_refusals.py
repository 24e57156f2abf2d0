"""One classification of what the Hub refused, read the same by preflight, staging and deploy."""

from __future__ import annotations

import httpx2
import pytest
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from llm_engineering.hub.refusals import classify, describe


def answer(status: int) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("GET", "http://127.0.0.1:9/api/models/x"))


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (OfflineModeIsEnabled("offline"), "offline"),
        (RevisionNotFoundError("no such revision", response=answer(404)), "revision"),
        (DisabledRepoError("disabled", response=answer(403)), "disabled"),
        (GatedRepoError("gated", response=answer(403)), "gated"),
        (RepositoryNotFoundError("missing", response=answer(404)), "missing"),
        (HfHubHTTPError("bad token", response=answer(401)), "token"),
        (HfHubHTTPError("forbidden", response=answer(403)), "denied"),
        (HfHubHTTPError("server error", response=answer(502)), "unreachable"),
        (httpx2.ConnectError("connection refused"), "unreachable"),
    ],
)
def test_each_refusal_has_one_reading(error: Exception, problem: str) -> None:
    assert classify(error).problem == problem


def test_the_description_is_the_first_line_of_the_failure() -> None:
    error = HfHubHTTPError("first line\nsecond line", response=answer(502))
    assert describe(error) == "HfHubHTTPError: first line"
    assert describe(httpx2.ConnectError("connection refused")) == "ConnectError: connection refused"
