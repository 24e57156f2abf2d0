"""Which endpoints load which stage: a stage in use must not be deleted (a new copy, an autoscaled instance or
a replaced one would find no weights), and `make status` says who uses each one.
"""

from __future__ import annotations

from typing import Any

from llm_engineering import tags as tool_tags
from llm_engineering.aws import get_or_none, paginate
from llm_engineering.resources.endpoints import Endpoint, components_on


def model_source_uri(client: Any, model_name: str) -> str | None:
    """The S3 prefix the model loads its weights from, None for a model that reads the Hub (or is gone)."""
    model = get_or_none(client.describe_model, ModelName=model_name)
    container = (model or {}).get("PrimaryContainer") or {}
    return ((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri")


def stage_users(client: Any) -> dict[str, list[str]]:
    """Stage URI -> the endpoints (and components) of the region that load it, each marked if not this tool's."""
    users: dict[str, list[str]] = {}
    for listed in paginate(client, "list_endpoints", "Endpoints"):
        endpoint = Endpoint.get(client, listed["EndpointName"])
        if endpoint is None:
            continue
        ours = "" if tool_tags.is_managed(endpoint.tags()) else " (not created by this tool)"
        models = [(f"endpoint {endpoint.name}{ours}", name) for name in endpoint.model_names]
        if endpoint.hosts_components:
            models += [
                (f"inference component {component.name} on endpoint {endpoint.name}{ours}", component.model_name)
                for component in components_on(client, endpoint.name)
                if component.model_name
            ]
        for user, model_name in models:
            uri = model_source_uri(client, model_name)
            if uri:
                users.setdefault(uri, []).append(user)
    return users
