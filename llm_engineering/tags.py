"""Tags that mark a resource as created by this tool, so cleanup can find it and refuse foreign ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from llm_engineering import TOOL_NAME, __version__

MANAGED_BY = f"{TOOL_NAME}:managed-by"
VERSION = f"{TOOL_NAME}:version"
ENDPOINT = f"{TOOL_NAME}:endpoint"
MODEL_ID = f"{TOOL_NAME}:model-id"
ENGINE = f"{TOOL_NAME}:engine"
"""The serving engine (tgi, vllm, sglang): how the test client learns which API the container speaks."""

Tag = dict[str, str]


def tool_tags(*, endpoint: str | None = None, model_id: str | None = None, engine: str | None = None) -> list[Tag]:
    """The tags every resource gets: the tool and its version, plus what it belongs to and what serves it."""
    pairs = {MANAGED_BY: TOOL_NAME, VERSION: __version__}
    if endpoint:
        pairs[ENDPOINT] = endpoint
    if model_id:
        pairs[MODEL_ID] = model_id
    if engine:
        pairs[ENGINE] = engine
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def as_dict(tags: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """AWS tag lists (`[{"Key":..., "Value":...}]`) as a plain mapping."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def is_managed(tags: Iterable[Mapping[str, str]]) -> bool:
    """True when the resource carries this tool's managed-by tag."""
    return as_dict(tags).get(MANAGED_BY) == TOOL_NAME
