"""Everything a plan needs from the outside world, gathered before any resource is created.

Offline checks come first (instance type, GPUs per copy, image), so bad settings fail before any AWS call;
then the reads: the execution role's ARN and what already exists of this endpoint. The result is plain
data, so `build_plan()` stays pure and tests can write an `Observed` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from llm_engineering import tags as tool_tags
from llm_engineering.aws import Aws, get_or_none
from llm_engineering.catalogue.amis import HostAmi, host_ami
from llm_engineering.catalogue.engines import engine
from llm_engineering.catalogue.images import Image, engine_image
from llm_engineering.catalogue.instances import GpuInstance, gpu_instance
from llm_engineering.hosting.autoscaling import ExistingScaling, ScaledResource
from llm_engineering.hosting.autoscaling_inventory import existing_scaling
from llm_engineering.hosting.container import TokenChoice, choose_token
from llm_engineering.hosting.inventory import Inventory, take_inventory
from llm_engineering.hosting.network_encryption import SecurityFacts, resolve_security
from llm_engineering.hosting.spec import DeploymentSpec, gpus_per_copy
from llm_engineering.hub.tokens import ModelAccess
from llm_engineering.iam import resolve_execution_role
from llm_engineering.resources.endpoints import InferenceComponent, Resource
from llm_engineering.statuses import Status
from llm_engineering.weights.deploy import resolve_stage
from llm_engineering.weights.stages import StagedModel


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
    description: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """DescribeEndpoint's answer, and the endpoint config it runs (as read): what else needs them (preflight's
    count of the instances in use) need not read them again."""
    config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ExistingComponent:
    name: str
    arn: str
    status: Status
    managed: bool
    model_name: str | None
    endpoint_name: str | None
    description: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """DescribeInferenceComponent's answer: its specification and copies, for what a redeploy changes."""


@dataclass(frozen=True)
class Observed:
    """Everything `build_plan()` needs from the outside world."""

    region: str
    role_arn: str
    image_uri: str
    token: SecretStr | None
    """The token the container gets, if it needs one (`container.choose_token`)."""
    instance: GpuInstance
    gpus_per_copy: int
    """Checked against the instance once, here: the plan and preflight read it from here."""
    endpoint: ExistingEndpoint | None = None
    component: ExistingComponent | None = None
    unused: tuple[Resource, ...] = ()
    """This endpoint's tagged configs and models that nothing runs any more (left by earlier runs)."""
    role: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """The execution role as IAM described it (None when AWS_ARN_ROLE named it): preflight reads its trust."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    token_note: str = ""
    """Why the container gets a token or not, for the plan."""
    # --- the serving engine's image (`hosting.engines`, `hosting.image`, `hosting.ami`) ---
    engine_version: str | None = None
    """The version the image holds (None for an IMAGE_URI given as is)."""
    ami: HostAmi = field(default_factory=lambda: HostAmi(None, ""))
    staged: StagedModel | None = None
    """The stage in S3 the container loads (spec.weights), checked; None: the container reads the Hub."""
    security: SecurityFacts = field(default_factory=SecurityFacts)
    """The VPC and KMS key the settings name, as EC2 and KMS described them (`hosting.security`)."""
    scaling: ExistingScaling = field(default_factory=ExistingScaling)
    """The scalable target, policies and alarms registered for this deployment (`hosting.autoscaling`)."""
    running_model: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """DescribeModel of the model the deployment serves now (None: nothing runs, or it could not be read), so
    a redeploy that changes only the autoscaling keeps it (`hosting.changes`)."""


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
        description=found.raw,
        config=found.config(),
    )


def _existing_component(client: object, name: str | None, inventory: Inventory) -> ExistingComponent | None:
    """The component to deploy, as the inventory found it on this endpoint, else wherever it is."""
    if not name:
        return None
    current = next((component for component in inventory.components if component.name == name), None)
    if current is not None:
        managed = inventory.components_managed[name]
    else:
        current = InferenceComponent.get(client, name)
        if current is None:
            return None
        managed = tool_tags.is_managed(current.tags())
    return ExistingComponent(
        name=current.name,
        arn=current.arn or "",
        status=current.status,
        managed=managed,
        model_name=current.model_name,
        endpoint_name=current.endpoint_name,
        description=current.raw,
    )


def _running_model(client: Any, endpoint: ExistingEndpoint | None, component: ExistingComponent | None) -> Any:
    """DescribeModel of what this deployment serves: the component's model, or the endpoint's one model."""
    if component is not None:
        name = component.model_name
    else:
        models = endpoint.model_names if endpoint is not None and not endpoint.hosts_components else ()
        name = models[0] if len(models) == 1 else None
    return get_or_none(client.describe_model, ModelName=name) if name else None


def _unused(inventory: Inventory) -> tuple[Resource, ...]:
    configs_in_use, models_in_use = inventory.in_use()
    configs = [Resource("endpoint-config", name) for name, ours in inventory.configs.items() if ours]
    models = [Resource("model", name) for name, ours in inventory.models.items() if ours]
    return tuple(
        [item for item in configs if item.name not in configs_in_use]
        + [item for item in models if item.name not in models_in_use]
    )


NOT_ASKED = ModelAccess.unknown("the Hub was not asked")
STAGED_TOKEN = TokenChoice(None, "not sent: the weights come from S3, the container reads no Hub")


def observe(spec: DeploymentSpec, aws: Aws, access: ModelAccess = NOT_ASKED) -> Observed:
    """Gather what the plan needs, offline checks first so bad settings fail before any AWS call.

    `access` is what the Hub said about the model (preflight's look-up): it decides whether a token is sent.
    """
    instance = gpu_instance(spec.instance_type, aws.region)
    gpus = gpus_per_copy(spec, instance)
    image = _image(spec, aws.region, instance.name)
    ami = host_ami(image.uri, spec.engine.inference_ami_version)
    security = resolve_security(aws, spec.security)  # unknown ids stop here, before the role is even read
    role_arn, role = resolve_execution_role(aws, spec.role_name, spec.role_arn)
    # Weights from S3: the stage is checked now, and no Hub token goes to the container.
    staged = resolve_stage(aws, spec.weights, role_arn) if spec.weights else None
    token = STAGED_TOKEN if staged else choose_token(spec.model.model_id, spec.model.token, access)
    client = aws.client("sagemaker")
    inventory = take_inventory(client, spec.endpoint_name)
    endpoint = _existing_endpoint(inventory)
    component = _existing_component(client, spec.component_name, inventory)
    return Observed(
        region=aws.region,
        role_arn=role_arn,
        image_uri=image.uri,
        token=token.token,
        token_note=token.note,
        instance=instance,
        gpus_per_copy=gpus,
        endpoint=endpoint,
        component=component,
        unused=_unused(inventory),
        role=role,
        engine_version=image.version,
        ami=ami,
        staged=staged,
        security=security,
        scaling=existing_scaling(aws, ScaledResource(spec.endpoint_name, spec.component_name)),
        running_model=_running_model(client, endpoint, component),
    )


def _image(spec: DeploymentSpec, region: str, instance_type: str) -> Image:
    settings = spec.engine
    return engine_image(
        engine(settings.name),
        region,
        instance_type,
        settings.version,
        settings.image_uri,
        version_setting=settings.version_setting,
        uri_setting=settings.image_setting,
    )
