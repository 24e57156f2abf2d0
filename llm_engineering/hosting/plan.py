"""The deployment plan: every AWS call a deploy will make, computed before any of them is made.

`build_plan()` is pure: it takes the deployment spec and what was observed (region, role ARN, image URI,
token, instance facts, the endpoint and component that already exist) and returns the exact requests, in
order, with the waits between them. `--dry-run` prints it (`render`); `apply.py` executes it step by step.
Tests assert on it without touching AWS. Secrets stay `SecretStr` inside the plan until a call is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from llm_engineering.catalogue.amis import DEFAULT_AMI
from llm_engineering.catalogue.engines import engine, engine_environment
from llm_engineering.catalogue.instances import GpuInstance
from llm_engineering.catalogue.prices import PRICE_SOURCE, Cost, instances_cost
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting import autoscaling, changes
from llm_engineering.hosting.container import container_environment
from llm_engineering.hosting.network_encryption import config_fields, model_fields, plan_lines
from llm_engineering.hosting.observe import ExistingComponent, ExistingEndpoint, Observed
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.hosting.steps import ArnOf, Call, SecondsUntilReady, Step, Wait
from llm_engineering.names import stamped_name
from llm_engineering.redaction import hide
from llm_engineering.resources.endpoints import Resource
from llm_engineering.statuses import Status, advice, described
from llm_engineering.tags import RUNS, STARTUP_SECONDS, Tag, tool_tags
from llm_engineering.weights.deploy import MODEL_DIR, model_data_source
from llm_engineering.weights.manifest import size_label
from llm_engineering.weights.stages import StagedModel

VARIANT_NAME = "AllTraffic"


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
    # --- the serving engine (`hosting.engines`) ---
    engine: str = "tgi"
    engine_version: str | None = None
    ami: str | None = None
    """The production variant's InferenceAmiVersion (None: SageMaker's default)."""
    ami_reason: str = ""
    notes: tuple[str, ...] = ()
    """What the plan should say about the engine: its status upstream, settings it does not use."""
    token_note: str = ""
    """Whether the container gets a Hugging Face token, why, and who can read it there."""
    weights: StagedModel | None = None
    """The stage in S3 the container loads (None: it downloads HF_MODEL_ID from the Hub)."""
    security: tuple[str, ...] = ()
    """The plan's lines on the VPC, network isolation and the KMS key (`hosting.security.plan_lines`)."""
    account: str = ""
    """The account the money is spent in (the execution role's), and the environment (ENV), for the first line."""
    env_name: str | None = None
    autoscaling: autoscaling.AutoscalingSpec | None = None
    """The scaling range and what it follows (None: a fixed size)."""
    changes: tuple[str, ...] = ()
    """What an update changes in what the deployment serves (`hosting.changes`); empty for a new one."""
    in_place: bool = False
    """Nothing it serves changes: the model and endpoint stay, only the autoscaling is updated."""

    @property
    def cost(self) -> Cost:
        return instances_cost(self.instance, self.instance_count)

    @property
    def usd_per_hour(self) -> float:
        return self.cost.usd_per_hour

    @property
    def created(self) -> list[Resource]:
        return [step.creates for step in self.steps if isinstance(step, Call) and step.creates]


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


# --- What already exists must allow the deploy -----------------------------------------------------------


def _check_endpoint(spec: DeploymentSpec, endpoint: ExistingEndpoint) -> None:
    name = endpoint.name
    if not endpoint.managed:
        raise ConfigurationError(
            f"Endpoint {name} exists but was not created by this tool: choose another "
            "SAGEMAKER_ENDPOINT_INFERENCE, or delete it yourself."
        )
    if endpoint.status != Status.IN_SERVICE:
        raise ConfigurationError(f"Endpoint {name} is {described(endpoint.status)}: {advice(endpoint.status).deploy}.")
    if endpoint.hosts_components != spec.components:
        current = "inference-component" if endpoint.hosts_components else "model-based"
        raise ConfigurationError(
            f"Endpoint {name} is {current} but ENDPOINT_TYPE={spec.endpoint_type}: set ENDPOINT_TYPE={current}, "
            "or remove the endpoint with make delete-inference-endpoint first."
        )
    if spec.components and (
        endpoint.instance_type != spec.instance_type or endpoint.instance_count != spec.instance_count
    ):
        raise ConfigurationError(
            f"Endpoint {name} runs {endpoint.instance_count} x {endpoint.instance_type}, but the settings ask for "
            f"{spec.instance_count} x {spec.instance_type}: match GPU_INSTANCE_TYPE and "
            "GPU_INSTANCE_COUNT, or remove the endpoint with make delete-inference-endpoint first."
        )


def _check_component(endpoint_name: str, component: ExistingComponent) -> None:
    if not component.managed:
        raise ConfigurationError(
            f"Inference component {component.name} exists but was not created by this tool: set "
            "SAGEMAKER_INFERENCE_COMPONENT_NAME to another name."
        )
    if component.endpoint_name != endpoint_name:
        raise ConfigurationError(
            f"Inference component {component.name} belongs to endpoint {component.endpoint_name}: set "
            "SAGEMAKER_INFERENCE_COMPONENT_NAME to another name."
        )
    if component.status != Status.IN_SERVICE:
        raise ConfigurationError(
            f"Inference component {component.name} is {component.status}: wait for it to settle, or remove "
            "the deployment with make delete-inference-endpoint."
        )


# --- The steps ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """What both hosting types build the same way."""

    spec: DeploymentSpec
    observed: Observed
    name: str
    """The new model's and endpoint config's name."""
    tags: list[Tag]
    environment: dict[str, str | SecretStr]

    def tags_running(self, name: str) -> list[Tag]:
        """The tags of an endpoint or component, naming the config or model it is set to run (`tags.RUNS`)."""
        return [*self.tags, {"Key": RUNS, "Value": name}]

    @property
    def timeouts(self) -> dict[str, int]:
        return {
            "ModelDataDownloadTimeoutInSeconds": self.spec.download_timeout,
            "ContainerStartupHealthCheckTimeoutInSeconds": self.spec.startup_timeout,
        }

    @property
    def endpoint(self) -> Resource:
        return Resource("endpoint", self.spec.endpoint_name)

    def create_model(self) -> Call:
        container = {"Image": self.observed.image_uri, "Environment": self.environment}
        if self.observed.staged is not None:  # weights from S3: SageMaker copies the prefix to /opt/ml/model
            container["ModelDataSource"] = model_data_source(self.observed.staged.location)
        params = {
            "ModelName": self.name,
            "PrimaryContainer": container,
            "ExecutionRoleArn": self.observed.role_arn,
            **model_fields(self.spec.security),  # VPC and network isolation (`hosting.security`)
            "Tags": self.tags,
        }
        return Call("CreateModel", params, creates=Resource("model", self.name))

    def create_config(self, variant: dict[str, Any], **extra: Any) -> Call:
        base = {
            "VariantName": VARIANT_NAME,
            "InstanceType": self.observed.instance.name,
            "InitialInstanceCount": self.spec.instance_count,
        }
        if self.observed.ami.version:  # the host AMI the image's CUDA needs (`hosting.ami`)
            base["InferenceAmiVersion"] = self.observed.ami.version
        variants = [{**base, **variant}]
        params = {"EndpointConfigName": self.name, "ProductionVariants": variants, **extra}
        params |= {**config_fields(self.spec.security), "Tags": self.tags}  # the volume's KMS key, if any
        return Call("CreateEndpointConfig", params, creates=Resource("endpoint-config", self.name))

    def create_endpoint(self) -> Call:
        tags = self.tags_running(self.name)
        params = {"EndpointName": self.spec.endpoint_name, "EndpointConfigName": self.name, "Tags": tags}
        return Call("CreateEndpoint", params, creates=self.endpoint)


def _model_based_steps(parts: _Parts) -> tuple[list[Step], list[Call], list[str] | None]:
    """Model, config, endpoint; or for an existing endpoint a blue/green UpdateEndpoint to the new config, and
    what that update changes (None for a new endpoint)."""
    model = parts.create_model()
    config = parts.create_config({"ModelName": parts.name, **parts.timeouts})
    existing = parts.observed.endpoint
    if existing is None:
        return [model, config, parts.create_endpoint(), Wait(parts.endpoint)], [], None
    update = {"EndpointName": parts.spec.endpoint_name, "EndpointConfigName": parts.name}
    steps: list[Step] = [
        model,
        config,
        Call("UpdateEndpoint", update),
        Wait(parts.endpoint, expect=parts.name),
        Call("AddTags", {"ResourceArn": existing.arn, "Tags": parts.tags_running(parts.name)}),
    ]
    retire = [Call("DeleteModel", {"ModelName": name}) for name in existing.model_names]
    if existing.config_name:
        retire.insert(0, Call("DeleteEndpointConfig", {"EndpointConfigName": existing.config_name}))
    found = changes.model_changes(model.params, parts.observed.running_model)
    found += changes.config_changes(config.params, existing.config)
    if parts.spec.autoscaling is None and parts.observed.scaling.target:  # the scaler leaves, its count stays
        variants = existing.description.get("ProductionVariants") or [{}]
        if variants[0].get("DesiredInstanceCount", parts.spec.instance_count) != parts.spec.instance_count:
            found.append("instances (as the scaler left them)")
    return steps, retire, found


def _component_steps(parts: _Parts) -> tuple[list[Step], list[Call], list[str] | None]:
    """An endpoint for components when there is none, then the model and a new or updated component, and what
    updating the component changes (None for a new one)."""
    spec, observed = parts.spec, parts.observed
    assert spec.component_name is not None
    steps: list[Step] = []
    if observed.endpoint is None:
        routing: dict[str, Any] = {"RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}
        if spec.autoscaling is not None:  # instances follow the copies (`hosting.autoscaling`)
            routing["ManagedInstanceScaling"] = autoscaling.managed_instance_scaling(
                spec.autoscaling, observed.instance.gpus, observed.gpus_per_copy, spec.instance_count
            )
        config = parts.create_config(routing, ExecutionRoleArn=observed.role_arn)
        steps += [config, parts.create_endpoint(), Wait(parts.endpoint)]
    specification = {
        "ModelName": parts.name,
        "StartupParameters": parts.timeouts,
        "ComputeResourceRequirements": compute_requirements(observed.instance, observed.gpus_per_copy),
    }
    target = {"InferenceComponentName": spec.component_name}
    body: dict[str, Any] = {"Specification": specification, "RuntimeConfig": {"CopyCount": spec.copy_count}}
    component = Resource("inference-component", spec.component_name)
    current = observed.component
    if current is None:
        placement = {"EndpointName": spec.endpoint_name, "VariantName": VARIANT_NAME}
        tags = parts.tags_running(parts.name)
        create = Call("CreateInferenceComponent", {**target, **placement, **body, "Tags": tags}, component)
        started = SecondsUntilReady(parts.endpoint, component) if observed.endpoint is None else None
        measured = _startup_tag(started or SecondsUntilReady(component))
        record = Call("AddTags", {"ResourceArn": ArnOf(component), "Tags": [*tags, measured]})  # IAM: tool tag
        return [*steps, parts.create_model(), create, Wait(component), record], [], None
    if observed.scaling.target and spec.autoscaling is not None:  # the scaler owns the copies: keep its count
        del body["RuntimeConfig"]
    model = parts.create_model()
    steps += [
        model,
        Call("UpdateInferenceComponent", {**target, **body}),
        Wait(component, expect=parts.name),
        Call(
            "AddTags",
            {
                "ResourceArn": current.arn,
                "Tags": [*parts.tags_running(parts.name), _startup_tag(SecondsUntilReady(component))],
            },
        ),
    ]
    found = changes.model_changes(model.params, observed.running_model)
    found += changes.component_changes(body, current.description)
    retire = [Call("DeleteModel", {"ModelName": current.model_name})] if current.model_name else []
    return steps, retire, found


def _startup_tag(seconds: SecondsUntilReady) -> Tag:
    """How long this deploy took to bring a copy into service: the client's estimate at zero copies."""
    return {"Key": STARTUP_SECONDS, "Value": seconds}


def _name_param(resource: Resource) -> dict[str, str]:
    return {"EndpointConfigName" if resource.kind == "endpoint-config" else "ModelName": resource.name}


def build_plan(spec: DeploymentSpec, observed: Observed, *, replace: bool = False) -> Plan:
    """The steps that bring the endpoint described by `spec` into existence (or up to date).

    A deployment that already serves what `spec` asks for keeps its model and endpoint (or component): only
    its autoscaling is updated, in place. `replace` deploys a new model anyway (blue/green, as for a change).
    """
    if observed.endpoint is not None:
        _check_endpoint(spec, observed.endpoint)
        if observed.component is not None:
            _check_component(spec.endpoint_name, observed.component)
    row = engine(spec.engine.name)
    served = engine_environment(
        row,
        container_environment(
            spec.model, observed.gpus_per_copy, observed.token, MODEL_DIR if observed.staged else None
        ),
        spec.engine.gpu_memory_utilization,
    )
    parts = _Parts(
        spec=spec,
        observed=observed,
        name=stamped_name(spec.endpoint_name, observed.now),
        tags=tool_tags(endpoint=spec.endpoint_name, model_id=spec.model.model_id, engine=row.name),
        environment=served.variables,
    )
    steps, retire, found = _component_steps(parts) if spec.components else _model_based_steps(parts)
    in_place = found == [] and not replace
    if in_place:  # nothing it serves changes: no new model, no update of the endpoint or component
        steps, retire = [], []
    # --- autoscaling: register, put and remove in place, once the endpoint or component is InService ---
    scaled = autoscaling.ScaledResource(spec.endpoint_name, spec.component_name)
    existing_scaling = observed.scaling
    update = _scaled_instance_type_update(spec, observed, steps)
    rescaled = update is not None
    if update is not None:  # SageMaker refuses it under a scalable target
        steps.insert(update, Call("DeregisterScalableTarget", scaled.key, service="application-autoscaling"))
        existing_scaling = autoscaling.ExistingScaling()  # registered again (new, tagged) once InService
    steps += autoscaling.scaling_steps(scaled, spec.autoscaling, parts.tags, existing_scaling)
    retire += [
        Call("DeleteEndpointConfig" if item.kind == "endpoint-config" else "DeleteModel", _name_param(item))
        for item in observed.unused
    ]
    existing = observed.component if spec.components else observed.endpoint
    return Plan(
        action="create" if existing is None else "update",
        endpoint_name=spec.endpoint_name,
        endpoint_type=spec.endpoint_type,
        region=observed.region,
        model_id=spec.model.model_id,
        image_uri=observed.image_uri,
        instance=observed.instance,
        instance_count=spec.instance_count,
        gpus_per_copy=observed.gpus_per_copy,
        copy_count=spec.copy_count,
        component_name=spec.component_name,
        model_name=(observed.running_model or {}).get("ModelName", parts.name) if in_place else parts.name,
        environment=parts.environment,
        tags=parts.tags,
        steps=steps,
        retire=retire,
        engine=row.name,
        engine_version=observed.engine_version,
        ami=observed.ami.version,
        ami_reason=observed.ami.reason,
        notes=row.notes + served.notes + _managed_scaling_notes(spec, observed) + (RESCALED if rescaled else ()),
        token_note=observed.token_note,
        weights=observed.staged,
        security=tuple(plan_lines(spec.security, observed.security)),
        account=observed.role_arn.split(":")[4] if observed.role_arn.count(":") >= 5 else "",
        env_name=spec.environment,
        autoscaling=spec.autoscaling,
        changes=tuple(found or ()),
        in_place=in_place,
    )


RESCALED = (
    "the variant's autoscaling is deregistered before the update (SageMaker refuses to change the instance type "
    "of a scaled variant) and registered again once the endpoint is InService; if the update fails, deploy again "
    "to restore it",
)


def _scaled_instance_type_update(spec: DeploymentSpec, observed: Observed, steps: list[Step]) -> int | None:
    """Where the UpdateEndpoint is when it moves a variant registered for autoscaling to another instance type
    (SageMaker fails that, "Update endpoints that use auto scaling", SageMaker Developer Guide, unless the
    target is deregistered first); None otherwise."""
    existing = observed.endpoint
    if spec.components or not observed.scaling.target or existing is None:
        return None
    if existing.instance_type == observed.instance.name:
        return None
    updates = [i for i, step in enumerate(steps) if isinstance(step, Call) and step.operation == "UpdateEndpoint"]
    return updates[0] if updates else None


def _managed_scaling_notes(spec: DeploymentSpec, observed: Observed) -> tuple[str, ...]:
    """A component endpoint keeps the ManagedInstanceScaling it was created with (this tool never replaces the
    endpoint config under running components): say so when the settings now ask for another range."""
    if not spec.components or observed.endpoint is None or spec.autoscaling is None:
        return ()
    variants = observed.endpoint.config.get("ProductionVariants") or [{}]
    current = variants[0].get("ManagedInstanceScaling") or {}
    wanted = autoscaling.managed_instance_scaling(
        spec.autoscaling, observed.instance.gpus, observed.gpus_per_copy, spec.instance_count
    )
    if all(current.get(key) == value for key, value in wanted.items()):
        return ()
    now = (
        f"{current.get('MinInstanceCount')}-{current.get('MaxInstanceCount')} instances"
        if current.get("Status") == "ENABLED"
        else "no managed instance scaling"
    )
    bills_at_zero = spec.autoscaling.to_zero and current.get("MinInstanceCount")
    consequence = " (at zero copies its instances still bill)" if bills_at_zero else ""
    return (
        f"endpoint {spec.endpoint_name} keeps {now} from its first deploy, not the {wanted['MinInstanceCount']}-"
        f"{wanted['MaxInstanceCount']} these settings ask for{consequence}: to change it, make "
        "delete-inference-endpoint and deploy again",
    )


# --- For people -----------------------------------------------------------------------------------------


def _shown(value: Any) -> Any:
    """For display: secrets hidden, and the (always identical) tag lists shortened to `<tags>`."""
    if isinstance(value, dict):
        return {key: "<tags>" if key == "Tags" else _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return hide(value)


def _engine_lines(plan: Plan) -> list[str]:
    """The engine, its image's host AMI, and the notes the engine comes with."""
    row = engine(plan.engine)
    version = f" {plan.engine_version}" if plan.engine_version else ""
    lines = [
        f"  engine         {row.label}{version} (ENGINE={row.name})",
        f"  host AMI       {plan.ami or DEFAULT_AMI} ({plan.ami_reason})" if plan.ami_reason else "",
    ]
    lines += [f"  note           {note}" for note in plan.notes]
    return [line for line in lines if line]


def _weights_lines(plan: Plan) -> list[str]:
    """Where the weights come from, when it is a stage in S3 (the Hub otherwise, said by the model line)."""
    if plan.weights is None:
        return []
    manifest = plan.weights.manifest
    return [
        f"  weights        {plan.weights.location.uri} (staged from commit {manifest.commit[:12]}, "
        f"{size_label(manifest.total_bytes)}; the container reads no Hub)"
    ]


def _change_lines(plan: Plan) -> list[str]:
    """What an update changes, or that it changes nothing the deployment serves."""
    if plan.in_place:
        scaling = "only its autoscaling is updated" if plan.steps else "nothing at all changes"
        return [
            f"  in place       {plan.model_name} keeps serving and {scaling} (no new model, no downtime; "
            "ARGS=--replace deploys a new model anyway)"
        ]
    return [f"  changes        {changes.describe(list(plan.changes))}"] if plan.changes else []


def render(plan: Plan) -> str:
    """The plan for humans: what will run, what it costs, and each call (secrets redacted)."""
    instance = plan.instance
    cost = plan.cost
    lines = [
        f"Plan: {plan.action} {plan.endpoint_type} endpoint {plan.endpoint_name} in {plan.region}"
        + (f" of account {plan.account}" if plan.account else "")
        + f", environment {plan.env_name or 'default (.env)'}",
        f"  model          {plan.model_id}",
        *_weights_lines(plan),
        f"  image          {plan.image_uri}",
        f"  instances      {plan.instance_count} x {instance.name} ({instance.gpus} x {instance.gpu}, "
        f"{instance.gpu_memory_mib // 1024} GiB GPU memory, {instance.vcpus} vCPU, {instance.memory_gib} GiB RAM)",
        f"  GPUs per copy  {plan.gpus_per_copy}" + (f", copies {plan.copy_count}" if plan.component_name else ""),
        f"  cost           {cost.hourly()}, {cost.usd_per_day:.2f}/day "
        f"({PRICE_SOURCE}; billed from creation until deletion)",
        "  environment    " + ", ".join(f"{key}={hide(value)}" for key, value in plan.environment.items()),
        *_engine_lines(plan),
        *plan.security,
        f"  autoscaling    {autoscaling.describe(plan.autoscaling, plan.component_name is not None)}",
    ]
    if plan.token_note:
        lines.append(f"  HF token       {plan.token_note}")
    lines += _change_lines(plan)
    lines.append("Steps:" if plan.steps or plan.retire else "Steps: none")
    for number, step in enumerate(plan.steps, start=1):
        if isinstance(step, Call):
            lines.append(f"  {number}. {step.operation} {json.dumps(_shown(step.params))}")
        else:
            target = f" on {step.expect}" if step.expect else ""
            lines.append(f"  {number}. wait until {step.resource} is InService{target}")
    for step in plan.retire:
        lines.append(f"  then {step.operation} {json.dumps(step.params)} (superseded, once InService)")
    return "\n".join(lines)
