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
from llm_engineering.catalogue.prices import Cost, fleet_cost
from llm_engineering.names import NAME_PREFIX_LENGTH
from llm_engineering.resources.endpoints import Endpoint, InferenceComponent, components_on
from llm_engineering.statuses import BILLING


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


def _tags(client: Any, arn: str) -> dict[str, str]:
    return tool_tags.read_if_exists(client, ResourceArn=arn)


def _belongs(tags: dict[str, str], endpoint_name: str) -> bool:
    return tool_tags.is_managed(tags) and tags.get(tool_tags.ENDPOINT) == endpoint_name


def _listed(client: Any, operation: str, key: str, endpoint_name: str) -> dict[str, str]:
    """Name -> ARN of the configs or models whose names could be this endpoint's (the tags decide)."""
    name_key, arn_key = key.removesuffix("s") + "Name", key.removesuffix("s") + "Arn"
    listed = paginate(client, operation, key, NameContains=endpoint_name[:NAME_PREFIX_LENGTH])
    return {item[name_key]: item[arn_key] for item in listed}


@dataclass
class _Search:
    """What one inventory has found so far; each resource is read once."""

    client: Any
    inventory: Inventory
    configs: dict[str, str]
    """Listed endpoint configs: name -> ARN."""
    models: dict[str, str]
    """Listed models: name -> ARN."""
    vouched: set[str] = field(default_factory=set)
    """Configs and models that one of this tool's resources runs as the tool set it to (`tags.RUNS`)."""
    referenced: set[str] = field(default_factory=set)
    """Models a config or component of this endpoint runs."""

    def endpoint(self, endpoint: Endpoint) -> None:
        tags = endpoint.tags()
        self.inventory.endpoint, self.inventory.endpoint_managed = endpoint, tool_tags.is_managed(tags)
        if tool_tags.vouches_for(tags, endpoint.target):
            self.vouched.add(endpoint.target or "")
        self.inventory.components = components_on(self.client, endpoint.name) if endpoint.hosts_components else []
        for component in self.inventory.components:
            component_tags = component.tags()
            self.inventory.components_managed[component.name] = tool_tags.is_managed(component_tags)
            if component.model_name:
                self.referenced.add(component.model_name)
                if tool_tags.vouches_for(component_tags, component.model_name):
                    self.vouched.add(component.model_name)

    def config(self, name: str, running: Endpoint | None) -> None:
        """The endpoint's own config (`running`, read once by the endpoint) or a listed one that belongs to it."""
        if running is not None:
            description = running.config()
            if not description:
                return  # deleted meanwhile
            ours = name in self.vouched or tool_tags.is_managed(_tags(self.client, description["EndpointConfigArn"]))
        else:
            if not _belongs(_tags(self.client, self.configs[name]), self.inventory.endpoint_name):
                return
            description = get_or_none(self.client.describe_endpoint_config, EndpointConfigName=name) or {}
            ours = True
        self.inventory.configs[name] = ours
        variants = description.get("ProductionVariants", [])
        models = [variant["ModelName"] for variant in variants if "ModelName" in variant]
        self.referenced.update(models)
        if ours:  # a config of this tool's runs only models this tool created with it, and configs never change
            self.vouched.update(models)

    def model(self, name: str) -> None:
        """A model this endpoint runs (ours when vouched for, else by its tags), or a listed one of its own."""
        if name in self.vouched and name in self.models:
            self.inventory.models[name] = True
            return
        arn = self.models.get(name)
        if arn is None:  # runs under another name: does it exist?
            found = get_or_none(self.client.describe_model, ModelName=name)
            if found is None:
                return
            arn = found["ModelArn"]
        if name in self.vouched:
            self.inventory.models[name] = True
            return
        tags = _tags(self.client, arn)
        if name in self.referenced:
            self.inventory.models[name] = tool_tags.is_managed(tags)
        elif _belongs(tags, self.inventory.endpoint_name):
            self.inventory.models[name] = True


def take_inventory(client: Any, endpoint_name: str) -> Inventory:
    """Find the endpoint, its components, and every config and model that belongs to it.

    The endpoint's and its components' tags are read; what they run is this tool's without reading its tags
    when the tool's `RUNS` tag says it set them to run just that, and so is what this tool's configs run. Tags
    are read only for the rest: foreign or changed resources, and leftovers found by listing.
    """
    inventory = Inventory(endpoint_name)
    endpoint = Endpoint.get(client, endpoint_name)
    search = _Search(client, inventory, {}, {})
    if endpoint is not None:
        search.endpoint(endpoint)
    search.configs = _listed(client, "list_endpoint_configs", "EndpointConfigs", endpoint_name)
    search.models = _listed(client, "list_models", "Models", endpoint_name)
    running = endpoint.config_name if endpoint is not None else None
    for name in sorted(set(search.configs) | {running} - {None}):
        search.config(name, endpoint if name == running else None)
    for name in sorted(search.referenced | set(search.models)):
        search.model(name)
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
    engine: str | None = None
    """The serving engine its tags name (an inference-component endpoint's: its components' engines)."""
    endpoint: Endpoint | None = field(default=None, compare=False, repr=False)
    hosted: tuple[InferenceComponent, ...] = field(default=(), compare=False, repr=False)
    """The endpoint and its components as read for this summary: `make status` shows their scaling from them."""

    @property
    def usd_so_far(self) -> float | None:
        return None if self.cost is None else self.cost.after(self.hours)


def _summary(client: Any, endpoint: Endpoint, tags: dict[str, str], now: datetime) -> EndpointSummary:
    running = {v["VariantName"]: v.get("CurrentInstanceCount") for v in endpoint.raw.get("ProductionVariants", [])}
    fleet: list[tuple[str, int]] = []
    for variant in endpoint.variants:
        count = running.get(variant["VariantName"])  # 0 for a variant scaled to zero: nothing bills
        count = variant.get("InitialInstanceCount", 0) if count is None else count
        fleet.append((variant.get("InstanceType", "?"), count))
    hosted = components_on(client, endpoint.name) if endpoint.hosts_components else []
    components = [f"{component.name} ({component.status})" for component in hosted]
    created = endpoint.raw.get("CreationTime", now)
    return EndpointSummary(
        name=endpoint.name,
        status=endpoint.status,
        kind="inference-component" if endpoint.hosts_components else "model-based",
        model_id=tags.get(tool_tags.MODEL_ID, "?"),
        instances=", ".join(f"{count} x {instance_type}" for instance_type, count in fleet) or "?",
        components=components,
        hours=max((now - created).total_seconds() / 3600, 0.0),
        cost=fleet_cost(fleet) if fleet else None,
        engine=_engine(tags, hosted),
        endpoint=endpoint,
        hosted=tuple(hosted),
    )


def _engine(tags: dict[str, str], hosted: list[InferenceComponent]) -> str | None:
    """The engine tag of the endpoint, or of the components it hosts (they may have been updated since)."""
    if not hosted:
        return tags.get(tool_tags.ENGINE)
    engines = sorted({component.tags().get(tool_tags.ENGINE) or "?" for component in hosted})
    return ", ".join(engines)


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
        elif endpoint.status in BILLING:
            others.append(endpoint.name)
    return RegionEndpoints(ours, others)


def managed_endpoints(client: Any, now: datetime | None = None) -> list[EndpointSummary]:
    """Endpoints carrying this tool's tags, with their instances, components and running cost."""
    return region_endpoints(client, now).ours
