"""Shared pieces of the extension backend: timestamps, state changes due later, listing and paging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.sagemaker.models import Model

from llm_engineering.local import clock


def now() -> datetime:
    return clock.now()


@dataclass
class Pending:
    """A state change due at a monotonic time."""

    at: float
    apply: Callable[[], None]


def model_environment(model: Model) -> dict[str, str]:
    """The container environment of a model (primary container, else the first of its containers)."""
    container = model.primary_container or (model.containers[0] if model.containers else {}) or {}
    return dict(container.get("Environment") or {})


def filter_rows(rows: list[dict[str, Any]], params: dict[str, Any], *, name_key: str, status_key: str) -> list[dict]:
    if params.get("NameContains"):
        rows = [row for row in rows if params["NameContains"] in row[name_key]]
    if params.get("StatusEquals"):
        rows = [row for row in rows if row[status_key] == params["StatusEquals"]]
    for key, column, before in (
        ("CreationTimeBefore", "CreationTime", True),
        ("CreationTimeAfter", "CreationTime", False),
        ("LastModifiedTimeBefore", "LastModifiedTime", True),
        ("LastModifiedTimeAfter", "LastModifiedTime", False),
    ):
        if params.get(key) is not None:
            limit = as_datetime(params[key])
            rows = [row for row in rows if (row[column] < limit if before else row[column] > limit)]
    sort_by = {"Name": name_key, "Status": status_key}.get(params.get("SortBy", ""), "CreationTime")
    return sorted(rows, key=lambda row: row[sort_by], reverse=params.get("SortOrder", "Descending") == "Descending")


def as_datetime(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def page(rows: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page of `rows` for MaxResults/NextToken (the token is the offset of the next page)."""
    start = int(params["NextToken"]) if str(params.get("NextToken", "")).isdigit() else 0
    size = int(params.get("MaxResults") or 100)
    end = start + size
    return rows[start:end], (str(end) if end < len(rows) else None)
