"""What exists: everything of one endpoint (through the endpoint, its components and the tags), the region's
endpoints (this tool's, and how many others bill beside them), and which of this tool's endpoints run as a role.

Names are never guessed: a config or model belongs to an endpoint when the endpoint or one of its components
references it, or when it carries this tool's tags naming the endpoint (which also finds what a failed or
interrupted deploy left behind). The name filter on the list calls only narrows what is listed; the tags
decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llm_engineering import tags as tool_tags
from llm_engineering.aws import get_or_none, paginate
from llm_engineering.hosting.prices import Cost, fleet_cost
from llm_engineering.hosting.resources import Endpoint, InferenceComponent, components_on
from llm_engineering.names import NAME_PREFIX_LENGTH
from llm_engineering.statuses import HOLDING_INSTANCES, Status


@dataclass
class Inventory:
    """One endpoint's resources, and which of them carry this tool's tags."""

    endpoint_name: str
    endpoint: Endpoint | None = None
    components: list[InferenceComponent] = field(default_factory=list)
    configs: dict[str, bool] = field(default_factory=dict)
    """Endpoint config name -> carries this tool's tags."""
    models: dict[str, bool] = field(default_factory=dict)
    """Model name -> carries this tool's tags."""
    endpoint_managed: bool = False
    components_managed: dict[str, bool] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.endpoint is None and not self.components and not self.configs and not self.models

    def in_use(self) -> tuple[set[str], set[str]]:
        """Config and model names the live endpoint and its components run."""
        configs: set[str] = set()
        models: set[str] = set()
        if self.endpoint is not None:
            if self.endpoint.config_name:
                configs.add(self.endpoint.config_name)
            models.update(self.endpoint.model_names)
        models.update(component.model_name for component in self.components if component.model_name)
        return configs, models

    def foreign(self) -> list[str]:
        """Resources found through the endpoint that lack this tool's tags."""
        found = []
        if self.endpoint is not None and not self.endpoint_managed:
            found.append(f"endpoint {self.endpoint_name}")
        found += [f"inference component {name}" for name, ours in self.components_managed.items() if not ours]
        found += [f"endpoint config {name}" for name, ours in self.configs.items() if not ours]
        found += [f"model {name}" for name, ours in self.models.items() if not ours]
        return found


def _tags(client: Any, arn: str) -> list[dict[str, str]]:
    return get_or_none(lambda: list(paginate(client, "list_tags", "Tags", ResourceArn=arn))) or []


def _belongs(tag_list: list[dict[str, str]], endpoint_name: str) -> bool:
    values = tool_tags.as_dict(tag_list)
    return tool_tags.is_managed(tag_list) and values.get(tool_tags.ENDPOINT) == endpoint_name


def _tagged(client: Any, operation: str, key: str, arn_key: str, endpoint_name: str) -> list[str]:
    """Names of configs or models whose tags say they belong to `endpoint_name`."""
    listed = paginate(client, operation, key, NameContains=endpoint_name[:NAME_PREFIX_LENGTH])
    return [
        item[key.removesuffix("s") + "Name"] for item in listed if _belongs(_tags(client, item[arn_key]), endpoint_name)
    ]


def _config_tags_and_models(client: Any, name: str) -> tuple[bool, list[str]] | None:
    config = get_or_none(client.describe_endpoint_config, EndpointConfigName=name)
    if config is None:
        return None
    models = [variant["ModelName"] for variant in config.get("ProductionVariants", []) if "ModelName" in variant]
    return tool_tags.is_managed(_tags(client, config["EndpointConfigArn"])), models


def _model_managed(client: Any, name: str) -> bool | None:
    model = get_or_none(client.describe_model, ModelName=name)
    return None if model is None else tool_tags.is_managed(_tags(client, model["ModelArn"]))


def take_inventory(client: Any, endpoint_name: str) -> Inventory:
    """Find the endpoint, its components, and every config and model that belongs to it."""
    inventory = Inventory(endpoint_name)
    endpoint = Endpoint.get(client, endpoint_name)
    config_names: set[str] = set()
    model_names: set[str] = set()
    if endpoint is not None:
        inventory.endpoint = endpoint
        inventory.endpoint_managed = tool_tags.is_managed(endpoint.tags())
        if endpoint.config_name:
            config_names.add(endpoint.config_name)
        inventory.components = components_on(client, endpoint_name) if endpoint.hosts_components else []
        for component in inventory.components:
            inventory.components_managed[component.name] = tool_tags.is_managed(component.tags())
            if component.model_name:
                model_names.add(component.model_name)
    config_names.update(_tagged(client, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn", endpoint_name))
    model_names.update(_tagged(client, "list_models", "Models", "ModelArn", endpoint_name))
    for name in sorted(config_names):
        found = _config_tags_and_models(client, name)
        if found is not None:
            inventory.configs[name] = found[0]
            model_names.update(found[1])
    for name in sorted(model_names):
        managed = _model_managed(client, name)
        if managed is not None:
            inventory.models[name] = managed
    return inventory


@dataclass(frozen=True)
class EndpointSummary:
    """One endpoint of this tool in the region, for `make status`."""

    name: str
    status: str
    kind: str
    model_id: str
    instances: str
    components: list[str]
    hours: float
    cost: Cost | None
    """None when an instance type is not in the price table."""

    @property
    def usd_so_far(self) -> float | None:
        return None if self.cost is None else self.cost.after(self.hours)


def _summary(client: Any, endpoint: Endpoint, tags: list[dict[str, str]], now: datetime) -> EndpointSummary:
    running = {v["VariantName"]: v.get("CurrentInstanceCount") for v in endpoint.raw.get("ProductionVariants", [])}
    fleet: list[tuple[str, int]] = []
    for variant in endpoint.variants:
        count = running.get(variant["VariantName"]) or variant.get("InitialInstanceCount", 0)
        fleet.append((variant.get("InstanceType", "?"), count))
    hosted = components_on(client, endpoint.name) if endpoint.hosts_components else []
    components = [f"{component.name} ({component.status})" for component in hosted]
    created = endpoint.raw.get("CreationTime", now)
    return EndpointSummary(
        name=endpoint.name,
        status=endpoint.status,
        kind="inference-component" if endpoint.hosts_components else "model-based",
        model_id=tool_tags.as_dict(tags).get(tool_tags.MODEL_ID, "?"),
        instances=", ".join(f"{count} x {instance_type}" for instance_type, count in fleet) or "?",
        components=components,
        hours=max((now - created).total_seconds() / 3600, 0.0),
        cost=fleet_cost(fleet) if fleet else None,
    )


@dataclass(frozen=True)
class RegionEndpoints:
    """The region's endpoints: this tool's, summarised, and the names of the others (they bill too)."""

    ours: list[EndpointSummary]
    others: list[str]
    """Endpoints without this tool's tags, holding (or about to hold) instances."""


def region_endpoints(client: Any, now: datetime | None = None) -> RegionEndpoints:
    """Every endpoint of the region: this tool's with their instances, components and running cost, and the rest."""
    now = now or datetime.now(UTC)
    ours: list[EndpointSummary] = []
    others: list[str] = []
    for listed in paginate(client, "list_endpoints", "Endpoints"):
        endpoint = Endpoint.get(client, listed["EndpointName"])
        if endpoint is None:
            continue
        tags = endpoint.tags()
        if tool_tags.is_managed(tags):
            ours.append(_summary(client, endpoint, tags, now))
        elif endpoint.status in HOLDING_INSTANCES and endpoint.status != Status.DELETING:
            others.append(endpoint.name)
    return RegionEndpoints(ours, others)


def managed_endpoints(client: Any, now: datetime | None = None) -> list[EndpointSummary]:
    """Endpoints carrying this tool's tags, with their instances, components and running cost."""
    return region_endpoints(client, now).ours


def _same_role(arn: str | None, role_arn: str) -> bool:
    """Role ARNs name the same role (same account and name; a path may be written or not)."""
    if not arn:
        return False
    account, name = arn.split(":")[4:5], arn.rsplit("/", 1)[-1]
    return account == role_arn.split(":")[4:5] and name == role_arn.rsplit("/", 1)[-1]


def endpoints_using_role(client: Any, role_arn: str) -> list[str]:
    """This tool's live endpoints that run as `role_arn`: their endpoint config (inference-component endpoints)
    or one of their models names it as ExecutionRoleArn."""
    using: list[str] = []
    for listed in paginate(client, "list_endpoints", "Endpoints"):
        endpoint = Endpoint.get(client, listed["EndpointName"])
        if endpoint is None or endpoint.status not in HOLDING_INSTANCES or endpoint.status == Status.DELETING:
            continue
        if not tool_tags.is_managed(endpoint.tags()):
            continue
        roles = [endpoint.config().get("ExecutionRoleArn")]
        models = list(endpoint.model_names)
        if endpoint.hosts_components:
            models += [
                component.model_name for component in components_on(client, endpoint.name) if component.model_name
            ]
        for name in models:
            model = get_or_none(client.describe_model, ModelName=name)
            roles.append((model or {}).get("ExecutionRoleArn"))
        if any(_same_role(arn, role_arn) for arn in roles):
            using.append(endpoint.name)
    return sorted(using)
