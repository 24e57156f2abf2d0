"""Tags that mark a resource as created by this tool, so cleanup can find it and refuse foreign ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llm_engineering import TOOL_NAME, __version__
from llm_engineering.setting_sources import environment_name

MANAGED_BY = f"{TOOL_NAME}:managed-by"
VERSION = f"{TOOL_NAME}:version"
ENDPOINT = f"{TOOL_NAME}:endpoint"
MODEL_ID = f"{TOOL_NAME}:model-id"
RUNS = f"{TOOL_NAME}:runs"
"""On an endpoint, the endpoint config this tool pointed it at; on an inference component, the model this tool
gave it. While the resource still runs that, whatever it runs is this tool's without reading its tags: the
tool points its resources only at configs and models it created, and configs never change."""
ENVIRONMENT = f"{TOOL_NAME}:environment"
"""ENV / LLM_ENGINEERING_ENV (dev, prod, ...): which settings file set the resource up (`setting_sources`)."""
ENGINE = f"{TOOL_NAME}:engine"
"""The serving engine (tgi, vllm, sglang): how the test client learns which API the container speaks."""
STARTUP_SECONDS = f"{TOOL_NAME}:startup-seconds"
"""On an inference component: the seconds its last deploy took from the request to a copy in service (with
the endpoint's own start when that deploy created it). The client's estimate when the component is at zero."""

Tag = dict[str, str]


def tool_tags(
    *, endpoint: str | None = None, model_id: str | None = None, engine: str | None = None, runs: str | None = None
) -> list[Tag]:
    """The tags every resource gets: the tool and its version, plus what it belongs to, what serves it (and
    what it runs)."""
    pairs = {MANAGED_BY: TOOL_NAME, VERSION: __version__}
    environment = environment_name()  # read where the tags are made: every resource of the run gets it
    if environment:
        pairs[ENVIRONMENT] = environment
    if endpoint:
        pairs[ENDPOINT] = endpoint
    if model_id:
        pairs[MODEL_ID] = model_id
    if engine:
        pairs[ENGINE] = engine
    if runs:
        pairs[RUNS] = runs
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def as_dict(tags: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """AWS tag lists (`[{"Key":..., "Value":...}]`) as a plain mapping."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def read_values(client: Any, arn: str) -> dict[str, str]:
    """A SageMaker resource's tags as a mapping, from one ListTags page (this tool sets far fewer than 100);
    a refusal propagates as the ClientError it is."""
    return as_dict(client.list_tags(ResourceArn=arn, MaxResults=100).get("Tags", []))


def is_managed(tags: Iterable[Mapping[str, str]]) -> bool:
    """True when the resource carries this tool's managed-by tag."""
    return as_dict(tags).get(MANAGED_BY) == TOOL_NAME


def vouches_for(tags: Iterable[Mapping[str, str]], running: str | None) -> bool:
    """True when a resource carrying `tags` is this tool's and still runs what the tool set it to (`RUNS`)."""
    return bool(running) and is_managed(tags) and as_dict(tags).get(RUNS) == running
