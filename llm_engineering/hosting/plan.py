"""The deployment plan: every AWS call a deploy will make, computed before any of them is made.

`build_plan()` is pure: it takes the settings and what was observed (region, role ARN, image URI, token,
instance facts, the endpoint and component that already exist) and returns the exact requests, in order,
with the waits between them. `--dry-run` prints it; `apply.py` executes it step by step. Tests assert on it
without touching AWS. Secrets stay `SecretStr` inside the plan and are revealed only when a call is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import SecretStr

from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.container import container_environment
from llm_engineering.hosting.instances import PRICE_REGION, GpuInstance
from llm_engineering.settings import Settings
from llm_engineering.tags import Tag, tool_tags

VARIANT_NAME = "AllTraffic"
ResourceKind = Literal["model", "endpoint-config", "endpoint", "inference-component"]


@dataclass(frozen=True)
class Resource:
    kind: ResourceKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Call:
    """One SageMaker request; `creates` names the resource it brings into existence (for rollback)."""

    operation: str
    params: dict[str, Any]
    creates: Resource | None = None


@dataclass(frozen=True)
class Wait:
    """Wait until a resource is InService (on `expect`: the config or model an update switched to)."""

    resource: Resource
    expect: str | None = None


Step = Call | Wait


@dataclass(frozen=True)
class ExistingEndpoint:
    """What a deploy needs to know about an endpoint that already exists."""

    name: str
    arn: str
    status: str
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
    status: str
    managed: bool
    model_name: str | None
    endpoint_name: str | None


@dataclass(frozen=True)
class Observed:
    """Everything `build_plan()` needs from the outside world, gathered by `apply.observe()`."""

    region: str
    role_arn: str
    image_uri: str
    token: SecretStr | None
    instance: GpuInstance
    endpoint: ExistingEndpoint | None = None
    component: ExistingComponent | None = None
    unused: tuple[Resource, ...] = ()
    """This endpoint's tagged configs and models that nothing runs any more (left by earlier runs)."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Plan:
    """A complete deployment: what will exist, what it costs, and the steps that get there."""

    action: Literal["create", "update"]
    endpoint_name: str
    endpoint_type: str
    region: str
    model_id: str
    image_uri: str
    instance: GpuInstance
    instance_count: int
    gpus_per_copy: int
    copy_count: int
    component_name: str | None
    model_name: str
    environment: dict[str, str | SecretStr]
    tags: list[Tag]
    steps: list[Step]
    retire: list[Call]
    """Calls that remove what the new deployment superseded, once it is InService."""

    @property
    def usd_per_hour(self) -> float:
        return self.instance.usd_per_hour * self.instance_count

    @property
    def created(self) -> list[Resource]:
        return [step.creates for step in self.steps if isinstance(step, Call) and step.creates]


def resource_stamp(now: datetime) -> str:
    """A sortable, name-safe timestamp that makes each deploy's model and config names unique."""
    return now.strftime("%Y%m%d-%H%M%S") + f"{now.microsecond // 1000:03d}"


def gpus_per_copy(settings: Settings, instance: GpuInstance) -> int:
    """GPUs per model copy, checked against the instance (and, for components, the copies asked for)."""
    gpus = settings.gpus_per_copy or instance.gpus
    if gpus > instance.gpus or instance.gpus % gpus:
        raise ConfigurationError(
            f"GPUS_PER_COPY={gpus} does not divide the {instance.gpus} GPU(s) of {instance.name}: "
            f"use a divisor of {instance.gpus} or leave it unset."
        )
    if settings.endpoint_type == "inference-component":
        capacity = settings.gpu_instance_count * (instance.gpus // gpus)
        if settings.copy_count > capacity:
            raise ConfigurationError(
                f"COPY_COUNT={settings.copy_count} does not fit: {settings.gpu_instance_count} x {instance.name} "
                f"hold {capacity} cop{'y' if capacity == 1 else 'ies'} of {gpus} GPU(s); lower COPY_COUNT "
                "or raise GPU_INSTANCE_COUNT."
            )
    return gpus


def compute_requirements(instance: GpuInstance, gpus_per_copy: int) -> dict[str, Any]:
    """Resources one component copy asks for: its GPUs, and a fair share of half the host's CPUs and 3/4 of
    its memory (the rest stays with SageMaker's agents), so every copy the GPUs allow can be placed."""
    copies_per_instance = instance.gpus // gpus_per_copy
    memory_mb = instance.memory_gib * 1024 * 3 // 4 // copies_per_instance
    return {
        "NumberOfAcceleratorDevicesRequired": gpus_per_copy,
        "NumberOfCpuCoresRequired": max(1, instance.vcpus // (2 * copies_per_instance)),
        "MinMemoryRequiredInMb": memory_mb // 1024 * 1024,
    }


def _check_existing(settings: Settings, observed: Observed) -> None:
    endpoint = observed.endpoint
    if endpoint is None:
        return
    name = endpoint.name
    if not endpoint.managed:
        raise ConfigurationError(
            f"Endpoint {name} exists but was not created by this tool: choose another "
            "SAGEMAKER_ENDPOINT_INFERENCE, or delete it yourself."
        )
    if endpoint.status != "InService":
        advice = (
            "wait for it to settle, or remove it with make delete-inference-endpoint"
            if endpoint.status in {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
            else "remove it with make delete-inference-endpoint, then deploy again"
        )
        raise ConfigurationError(f"Endpoint {name} is {endpoint.status}: {advice}.")
    wanted_components = settings.endpoint_type == "inference-component"
    if endpoint.hosts_components != wanted_components:
        current = "inference-component" if endpoint.hosts_components else "model-based"
        raise ConfigurationError(
            f"Endpoint {name} is {current} but ENDPOINT_TYPE={settings.endpoint_type}: set ENDPOINT_TYPE={current}, "
            "or remove the endpoint with make delete-inference-endpoint first."
        )
    if wanted_components and (
        endpoint.instance_type != settings.gpu_instance_type or endpoint.instance_count != settings.gpu_instance_count
    ):
        raise ConfigurationError(
            f"Endpoint {name} runs {endpoint.instance_count} x {endpoint.instance_type}, but the settings ask for "
            f"{settings.gpu_instance_count} x {settings.gpu_instance_type}: match GPU_INSTANCE_TYPE and "
            "GPU_INSTANCE_COUNT, or remove the endpoint with make delete-inference-endpoint first."
        )
    component = observed.component
    if component is not None:
        if not component.managed:
            raise ConfigurationError(
                f"Inference component {component.name} exists but was not created by this tool: set "
                "SAGEMAKER_INFERENCE_COMPONENT_NAME to another name."
            )
        if component.endpoint_name != name:
            raise ConfigurationError(
                f"Inference component {component.name} belongs to endpoint {component.endpoint_name}: set "
                "SAGEMAKER_INFERENCE_COMPONENT_NAME to another name."
            )
        if component.status != "InService":
            raise ConfigurationError(
                f"Inference component {component.name} is {component.status}: wait for it to settle, or remove "
                "the deployment with make delete-inference-endpoint."
            )


def build_plan(settings: Settings, observed: Observed) -> Plan:
    """The steps that bring the endpoint described by `settings` into existence (or up to date)."""
    _check_existing(settings, observed)
    instance = observed.instance
    gpus = gpus_per_copy(settings, instance)
    components = settings.endpoint_type == "inference-component"

    endpoint = settings.sagemaker_endpoint_inference
    stamp = resource_stamp(observed.now)
    model_name = f"{endpoint[: 63 - len(stamp) - 1]}-{stamp}"
    config_name = model_name
    tags = tool_tags(endpoint=endpoint, model_id=settings.hf_model_id)
    environment = container_environment(settings, gpus, observed.token)
    timeouts = {
        "ModelDataDownloadTimeoutInSeconds": settings.model_data_download_timeout,
        "ContainerStartupHealthCheckTimeoutInSeconds": settings.container_startup_health_check_timeout,
    }
    create_model = Call(
        "CreateModel",
        {
            "ModelName": model_name,
            "PrimaryContainer": {"Image": observed.image_uri, "Environment": environment},
            "ExecutionRoleArn": observed.role_arn,
            "Tags": tags,
        },
        creates=Resource("model", model_name),
    )
    variant: dict[str, Any] = {
        "VariantName": VARIANT_NAME,
        "InstanceType": instance.name,
        "InitialInstanceCount": settings.gpu_instance_count,
    }
    if components:
        variant["RoutingConfig"] = {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
        config_params: dict[str, Any] = {"ExecutionRoleArn": observed.role_arn}
    else:
        variant.update({"ModelName": model_name, **timeouts})
        config_params = {}
    create_config = Call(
        "CreateEndpointConfig",
        {"EndpointConfigName": config_name, "ProductionVariants": [variant], **config_params, "Tags": tags},
        creates=Resource("endpoint-config", config_name),
    )
    endpoint_resource = Resource("endpoint", endpoint)
    create_endpoint = Call(
        "CreateEndpoint",
        {"EndpointName": endpoint, "EndpointConfigName": config_name, "Tags": tags},
        creates=endpoint_resource,
    )
    existing = observed.endpoint
    steps: list[Step]
    retire: list[Call] = []
    component_name = settings.inference_component_name if components else None

    if not components:
        if existing is None:
            steps = [create_model, create_config, create_endpoint, Wait(endpoint_resource)]
        else:
            steps = [
                create_model,
                create_config,
                Call("UpdateEndpoint", {"EndpointName": endpoint, "EndpointConfigName": config_name}),
                Wait(endpoint_resource, expect=config_name),
                Call("AddTags", {"ResourceArn": existing.arn, "Tags": tags}),
            ]
            if existing.config_name:
                retire.append(Call("DeleteEndpointConfig", {"EndpointConfigName": existing.config_name}))
            retire += [Call("DeleteModel", {"ModelName": name}) for name in existing.model_names]
        action: Literal["create", "update"] = "create" if existing is None else "update"
    else:
        assert component_name is not None
        component_resource = Resource("inference-component", component_name)
        specification = {
            "ModelName": model_name,
            "StartupParameters": timeouts,
            "ComputeResourceRequirements": compute_requirements(instance, gpus),
        }
        runtime = {"CopyCount": settings.copy_count}
        steps = []
        if existing is None:
            steps += [create_config, create_endpoint, Wait(endpoint_resource)]
        current = observed.component
        if current is None:
            steps += [
                create_model,
                Call(
                    "CreateInferenceComponent",
                    {
                        "InferenceComponentName": component_name,
                        "EndpointName": endpoint,
                        "VariantName": VARIANT_NAME,
                        "Specification": specification,
                        "RuntimeConfig": runtime,
                        "Tags": tags,
                    },
                    creates=component_resource,
                ),
                Wait(component_resource),
            ]
            action = "create"
        else:
            steps += [
                create_model,
                Call(
                    "UpdateInferenceComponent",
                    {
                        "InferenceComponentName": component_name,
                        "Specification": specification,
                        "RuntimeConfig": runtime,
                    },
                ),
                Wait(component_resource, expect=model_name),
                Call("AddTags", {"ResourceArn": current.arn, "Tags": tags}),
            ]
            if current.model_name:
                retire.append(Call("DeleteModel", {"ModelName": current.model_name}))
            action = "update"

    retire += [
        Call("DeleteEndpointConfig" if item.kind == "endpoint-config" else "DeleteModel", _name_param(item))
        for item in observed.unused
    ]
    return Plan(
        action=action,
        endpoint_name=endpoint,
        endpoint_type=settings.endpoint_type,
        region=observed.region,
        model_id=settings.hf_model_id,
        image_uri=observed.image_uri,
        instance=instance,
        instance_count=settings.gpu_instance_count,
        gpus_per_copy=gpus,
        copy_count=settings.copy_count if components else 1,
        component_name=component_name,
        model_name=model_name,
        environment=environment,
        tags=tags,
        steps=steps,
        retire=retire,
    )


def _name_param(resource: Resource) -> dict[str, str]:
    return {"EndpointConfigName" if resource.kind == "endpoint-config" else "ModelName": resource.name}


def _redacted(value: Any) -> Any:
    """For display: secrets hidden, and the (always identical) tag lists shortened to `<tags>`."""
    if isinstance(value, SecretStr):
        return "<redacted>"
    if isinstance(value, dict):
        return {key: "<tags>" if key == "Tags" else _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def render(plan: Plan) -> str:
    """The plan for humans: what will run, what it costs, and each call (secrets redacted)."""
    import json

    instance = plan.instance
    lines = [
        f"Plan: {plan.action} {plan.endpoint_type} endpoint {plan.endpoint_name} in {plan.region}",
        f"  model          {plan.model_id}",
        f"  image          {plan.image_uri}",
        f"  instances      {plan.instance_count} x {instance.name} ({instance.gpus} x {instance.gpu}, "
        f"{instance.gpu_memory_mib // 1024} GiB GPU memory, {instance.vcpus} vCPU, {instance.memory_gib} GiB RAM)",
        f"  GPUs per copy  {plan.gpus_per_copy}" + (f", copies {plan.copy_count}" if plan.component_name else ""),
        f"  cost           about USD {plan.usd_per_hour:.2f}/hour, {plan.usd_per_hour * 24:.2f}/day "
        f"({PRICE_REGION} list price; billed from creation until deletion)",
        "  environment    " + ", ".join(f"{key}={_redacted(value)}" for key, value in plan.environment.items()),
        "Steps:",
    ]
    for number, step in enumerate(plan.steps, start=1):
        if isinstance(step, Call):
            lines.append(f"  {number}. {step.operation} {json.dumps(_redacted(step.params), sort_keys=False)}")
        else:
            target = f" on {step.expect}" if step.expect else ""
            lines.append(f"  {number}. wait until {step.resource} is InService{target}")
    for step in plan.retire:
        lines.append(f"  then {step.operation} {json.dumps(step.params)} (superseded, once InService)")
    return "\n".join(lines)
