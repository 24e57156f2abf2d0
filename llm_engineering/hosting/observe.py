"""Everything a plan needs from the outside world, gathered before any resource is created.

Offline checks come first (instance type, GPUs per copy, image), so bad settings fail before any AWS call;
then the reads: the execution role's ARN and what already exists of this endpoint. The result is plain
data, so `build_plan()` stays pure and tests can write an `Observed` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import SecretStr

from llm_engineering import tags as tool_tags
from llm_engineering.aws import Aws
from llm_engineering.hosting.container import hub_token
from llm_engineering.hosting.image import tgi_image_uri
from llm_engineering.hosting.instances import GpuInstance, gpu_instance
from llm_engineering.hosting.inventory import Inventory, take_inventory
from llm_engineering.hosting.resources import InferenceComponent, Resource
from llm_engineering.hosting.spec import DeploymentSpec, gpus_per_copy
from llm_engineering.iam import resolve_execution_role_arn
from llm_engineering.statuses import Status
from llm_engineering.weights.deploy import resolve_stage
from llm_engineering.weights.staged import StagedModel


@dataclass(frozen=True)
class ExistingEndpoint:
    """What a deploy needs to know about an endpoint that already exists."""

    name: str
    arn: str
    status: Status
    managed: bool
    hosts_components: bool
    config_name: str | None
    model_names: tuple[str, ...]
    instance_type: str | None
    instance_count: int | None


@dataclass(frozen=True)
class ExistingComponent:
    name: str
    arn: str
    status: Status
    managed: bool
    model_name: str | None
    endpoint_name: str | None


@dataclass(frozen=True)
class Observed:
    """Everything `build_plan()` needs from the outside world."""

    region: str
    role_arn: str
    image_uri: str
    token: SecretStr | None
    instance: GpuInstance
    gpus_per_copy: int
    """Checked against the instance once, here: the plan and preflight read it from here."""
    endpoint: ExistingEndpoint | None = None
    component: ExistingComponent | None = None
    unused: tuple[Resource, ...] = ()
    """This endpoint's tagged configs and models that nothing runs any more (left by earlier runs)."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    staged: StagedModel | None = None
    """The stage in S3 the container loads (spec.weights), checked; None: the container reads the Hub."""


def _existing_endpoint(inventory: Inventory) -> ExistingEndpoint | None:
    found = inventory.endpoint
    if found is None:
        return None
    variant = found.variants[0] if found.variants else {}
    return ExistingEndpoint(
        name=found.name,
        arn=found.arn or "",
        status=found.status,
        managed=inventory.endpoint_managed,
        hosts_components=found.hosts_components,
        config_name=found.config_name,
        model_names=tuple(found.model_names),
        instance_type=variant.get("InstanceType"),
        instance_count=variant.get("InitialInstanceCount"),
    )


def _existing_component(client: object, name: str | None) -> ExistingComponent | None:
    current = InferenceComponent.get(client, name) if name else None
    if current is None:
        return None
    return ExistingComponent(
        name=current.name,
        arn=current.arn or "",
        status=current.status,
        managed=tool_tags.is_managed(current.tags()),
        model_name=current.model_name,
        endpoint_name=current.endpoint_name,
    )


def _unused(inventory: Inventory) -> tuple[Resource, ...]:
    configs_in_use, models_in_use = inventory.in_use()
    configs = [Resource("endpoint-config", name) for name, ours in inventory.configs.items() if ours]
    models = [Resource("model", name) for name, ours in inventory.models.items() if ours]
    return tuple(
        [item for item in configs if item.name not in configs_in_use]
        + [item for item in models if item.name not in models_in_use]
    )


def observe(spec: DeploymentSpec, aws: Aws) -> Observed:
    """Gather what the plan needs, offline checks first so bad settings fail before any AWS call."""
    instance = gpu_instance(spec.instance_type, aws.region)
    gpus = gpus_per_copy(spec, instance)
    image_uri = tgi_image_uri(aws.region, instance.name, spec.model.image_version, spec.model.image_uri)
    role_arn = resolve_execution_role_arn(aws, spec.role_name, spec.role_arn)
    # Weights from S3: the stage is checked now, and no Hub token goes to the container.
    staged = resolve_stage(aws, spec.weights, role_arn) if spec.weights else None
    token = None if staged else hub_token(spec.model.token)
    client = aws.client("sagemaker")
    inventory = take_inventory(client, spec.endpoint_name)
    return Observed(
        region=aws.region,
        role_arn=role_arn,
        image_uri=image_uri,
        token=token,
        instance=instance,
        gpus_per_copy=gpus,
        endpoint=_existing_endpoint(inventory),
        component=_existing_component(client, spec.component_name),
        unused=_unused(inventory),
        staged=staged,
    )
