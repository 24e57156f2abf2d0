"""The SageMaker hosting pieces moto lacks, as a moto-style backend beside moto's own.

moto keeps models, endpoint configs and endpoints (so its tagging, listing and reset keep working); this
backend adds what a deployment depends on: endpoint configs for every instance type botocore knows and
for inference-component endpoints, endpoints that take time (Creating -> InService or Failed, Updating,
Deleting -> gone), inference components, account quotas, health-check failures with container logs,
and AddTags/ListTags/DeleteTags that know inference components. Time is virtual only in the sense that
states advance when a request looks at them (`settle`), so no background thread races the tests.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, Model, sagemaker_backends
from moto.sagemaker.utils import arn_formatter

from llm_engineering.local import container_logs
from llm_engineering.local.faults import CURRENT
from llm_engineering.local.instances import spec
from llm_engineering.local.protocol import AwsError, validation_exception

ENDPOINT_HEALTH_CHECK_FAILURE = (
    "The primary container for production variant {variant} did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
COMPONENT_HEALTH_CHECK_FAILURE = (
    "The container for inference component {component} did not pass the ping health check. "
    "Please check CloudWatch logs for this inference component."
)
QUOTA_EXCEEDED = (
    "The account-level service limit '{instance_type} for endpoint usage' is {quota} Instances, with current "
    "utilization of {used} Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to "
    "request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request "
    "an increase for this quota."
)
ACTIVE_ENDPOINT_STATES = {"Creating", "InService", "Updating", "Deleting"}


def now() -> datetime:
    return datetime.now(tz=UTC)


class EndpointConfig(FakeEndpointConfig):
    """moto's endpoint config, minus its outdated instance-type list, keeping the whole request.

    The request was already checked against botocore's model (instance types included), so moto's own
    validation is skipped; `request` keeps members moto drops (ExecutionRoleArn, VpcConfig, ...).
    """

    def __init__(self, account_id: str, region_name: str, request: dict[str, Any]) -> None:
        self.request = request
        super().__init__(
            account_id=account_id,
            region_name=region_name,
            endpoint_config_name=request["EndpointConfigName"],
            production_variants=request["ProductionVariants"],
            async_inference_config=request.get("AsyncInferenceConfig") or {},
            data_capture_config=request.get("DataCaptureConfig") or {},
            tags=list(request.get("Tags") or []),
            kms_key_id=request.get("KmsKeyId") or "",
        )

    def validate_production_variants(self, production_variants: list[dict[str, Any]]) -> None:
        """Checked by the emulator against botocore's enum before construction."""

    @property
    def component_based(self) -> bool:
        """True for inference-component endpoints: variants without a model."""
        return any("ModelName" not in variant for variant in self.production_variants)


@dataclass
class Pending:
    """A state change due at a monotonic time."""

    at: float
    apply: Callable[[], None]


@dataclass
class EndpointState:
    """What moto's FakeEndpoint lacks: life cycle, failure and the update in flight."""

    name: str
    config_name: str
    status: str
    created: datetime
    modified: datetime
    failure_reason: str | None = None
    pending: Pending | None = None
    pending_config: str | None = None
    update_started: datetime | None = None


@dataclass
class InferenceComponent:
    name: str
    arn: str
    endpoint_name: str
    endpoint_arn: str
    variant_name: str
    specification: dict[str, Any]
    copy_count: int
    status: str
    created: datetime
    modified: datetime
    current_copy_count: int = 0
    failure_reason: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    pending: Pending | None = None


class SageMakerExtensionBackend(BaseBackend):
    """Per account and region, like moto's backends (and reset with them by `/moto-api/reset`)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.endpoints: dict[str, EndpointState] = {}
        self.components: dict[str, InferenceComponent] = {}

    # --- plumbing ---------------------------------------------------------------------------------------
    @property
    def moto(self) -> Any:
        return sagemaker_backends[self.account_id][self.region_name]

    def arn(self, kind: str, name: str) -> str:
        return arn_formatter(kind, name, self.account_id, self.region_name)

    def settle(self) -> None:
        """Apply every state change whose time has come."""
        clock = time.monotonic()
        for record in [*self.endpoints.values(), *self.components.values()]:
            if record.pending is not None and record.pending.at <= clock:
                change, record.pending = record.pending, None
                change.apply()

    def _later(self, apply: Callable[[], None]) -> Pending:
        return Pending(time.monotonic() + CURRENT.config.transition_seconds, apply)

    def _model(self, name: str) -> Model:
        model = self.moto._models.get(name)
        if model is None:
            raise validation_exception(f'Could not find model "{self.arn("model", name)}".')
        return model

    def _config(self, name: str) -> EndpointConfig:
        config = self.moto.endpoint_configs.get(name)
        if config is None:
            raise validation_exception(f'Could not find endpoint configuration "{self.arn("endpoint-config", name)}".')
        return config

    def endpoint_state(self, name: str) -> EndpointState:
        """The endpoint's state; endpoints made by moto alone (e.g. CloudFormation) count as InService."""
        fake = self.moto.endpoints.get(name)
        if fake is None:
            self.endpoints.pop(name, None)
            raise validation_exception(f'Could not find endpoint "{self.arn("endpoint", name)}".')
        if name not in self.endpoints:
            self.endpoints[name] = EndpointState(
                name, fake.endpoint_config_name, "InService", fake.creation_time, fake.last_modified_time
            )
        return self.endpoints[name]

    # --- endpoint configs -------------------------------------------------------------------------------
    def create_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        if name in self.moto.endpoint_configs:
            raise validation_exception(
                f'Cannot create already existing endpoint configuration "{self.arn("endpoint-config", name)}".'
            )
        variants = params["ProductionVariants"]
        names = [variant["VariantName"] for variant in variants]
        if len(set(names)) != len(names):
            raise validation_exception("Production variant names must be unique within an endpoint configuration.")
        for variant in variants:
            if "InstanceType" not in variant and "ServerlessConfig" not in variant:
                raise validation_exception(
                    f"Production variant {variant['VariantName']} needs an InstanceType or a ServerlessConfig."
                )
            if "ModelName" in variant:
                self._model(variant["ModelName"])
            else:
                if "InstanceType" not in variant:
                    raise validation_exception(
                        f"Production variant {variant['VariantName']} has no ModelName, so it hosts inference "
                        "components and needs an InstanceType."
                    )
                if not params.get("ExecutionRoleArn"):
                    raise validation_exception(
                        "ExecutionRoleArn is required when a production variant has no ModelName "
                        "(endpoints for inference components)."
                    )
        with_models = {"ModelName" in variant for variant in variants}
        if len(with_models) > 1:
            raise validation_exception(
                "All production variants must name a model, or none of them (endpoints for inference components)."
            )
        config = EndpointConfig(self.account_id, self.region_name, params)
        self.moto.endpoint_configs[name] = config
        return {"EndpointConfigArn": config.endpoint_config_arn}

    def describe_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        config = self._config(params["EndpointConfigName"])
        request = getattr(config, "request", None) or {
            "EndpointConfigName": config.endpoint_config_name,
            "ProductionVariants": config.production_variants,
            "DataCaptureConfig": config.data_capture_config or None,
            "KmsKeyId": config.kms_key_id or None,
        }
        return {**request, "EndpointConfigArn": config.endpoint_config_arn, "CreationTime": config.creation_time}

    # --- endpoints --------------------------------------------------------------------------------------
    def create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        if name in self.moto.endpoints:
            raise validation_exception(f'Cannot create already existing endpoint "{self.arn("endpoint", name)}".')
        config = self._config(config_name)
        self._check_quota(config)
        fake = FakeEndpoint(
            account_id=self.account_id,
            region_name=self.region_name,
            endpoint_name=name,
            endpoint_config_name=config_name,
            production_variants=config.production_variants,
            data_capture_config=config.data_capture_config,
            tags=list(params.get("Tags") or []),
        )
        fake.endpoint_status = "Creating"
        self.moto.endpoints[name] = fake
        created = now()
        state = EndpointState(name, config_name, "Creating", created, created)
        self.endpoints[name] = state
        failure = self._start_containers(name, config)

        def finish() -> None:
            state.modified = now()
            if failure is None:
                state.status = "InService"
            else:
                state.status, state.failure_reason = "Failed", failure
            fake.endpoint_status, fake.failure_reason = state.status, state.failure_reason

        state.pending = self._later(finish)
        return {"EndpointArn": fake.arn}

    def _start_containers(self, endpoint_name: str, config: EndpointConfig) -> str | None:
        """Write each model container's start-up log; the FailureReason if a fault makes one fail."""
        failure_reason = None
        for variant in config.production_variants:
            if "ModelName" not in variant:
                continue  # components bring their own containers
            model = self._model(variant["ModelName"])
            environment = model_environment(model)
            model_id = environment.get("HF_MODEL_ID", model.model_name)
            failure = CURRENT.config.failure_for(endpoint_name, model_id)
            instance_type = variant.get("InstanceType", "")
            for index in range(int(variant.get("InitialInstanceCount") or 1)):
                stream = container_logs.stream_name(variant["VariantName"], endpoint_name, index)
                lines = container_logs.startup_lines(model_id, environment, instance_type, failure)
                container_logs.write(
                    self.account_id, self.region_name, container_logs.endpoint_log_group(endpoint_name), stream, lines
                )
            if failure is not None and failure_reason is None:
                failure_reason = ENDPOINT_HEALTH_CHECK_FAILURE.format(variant=variant["VariantName"])
        return failure_reason

    def _check_quota(self, config: EndpointConfig) -> None:
        """ResourceLimitExceeded when the account's `<type> for endpoint usage` quota would be exceeded."""
        asked: dict[str, int] = {}
        for variant in config.production_variants:
            if "InstanceType" in variant:
                count = int(variant.get("InitialInstanceCount") or 1)
                asked[variant["InstanceType"]] = asked.get(variant["InstanceType"], 0) + count
        for instance_type, delta in asked.items():
            used = self.instances_in_use(instance_type)
            quota = CURRENT.config.quota_for(instance_type)
            if used + delta > quota:
                message = QUOTA_EXCEEDED.format(instance_type=instance_type, quota=quota, used=used, delta=delta)
                raise AwsError("ResourceLimitExceeded", message)

    def instances_in_use(self, instance_type: str) -> int:
        """Instances of `instance_type` the account's endpoints hold; an update holds both fleets (blue/green)."""
        used = 0
        for name in list(self.moto.endpoints):
            state = self.endpoint_state(name)
            if state.status not in ACTIVE_ENDPOINT_STATES:
                continue
            for config_name in filter(None, {state.config_name, state.pending_config}):
                config = self.moto.endpoint_configs.get(config_name)
                for variant in config.production_variants if config else []:
                    if variant.get("InstanceType") == instance_type:
                        used += int(variant.get("InitialInstanceCount") or 1)
        return used

    def describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        state = self.endpoint_state(name)
        fake = self.moto.endpoints[name]
        answer: dict[str, Any] = {
            "EndpointName": name,
            "EndpointArn": fake.arn,
            "EndpointConfigName": state.config_name,
            "EndpointStatus": state.status,
            "FailureReason": state.failure_reason,
            "CreationTime": state.created,
            "LastModifiedTime": state.modified,
        }
        config = self.moto.endpoint_configs.get(state.config_name)
        if config is not None:
            answer["ProductionVariants"] = [
                self._variant_summary(variant, state) for variant in config.production_variants
            ]
            answer["DataCaptureConfig"] = config.data_capture_config or None
        if state.pending_config is not None:
            answer["PendingDeploymentSummary"] = {
                "EndpointConfigName": state.pending_config,
                "StartTime": state.update_started,
            }
        return answer

    def _variant_summary(self, variant: dict[str, Any], state: EndpointState) -> dict[str, Any]:
        count = int(variant.get("InitialInstanceCount") or 1)
        running = state.status in {"InService", "Updating"}
        summary: dict[str, Any] = {
            "VariantName": variant["VariantName"],
            "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)) if running else None,
            "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
            "CurrentInstanceCount": count if running else None,
            "DesiredInstanceCount": count,
            "ManagedInstanceScaling": variant.get("ManagedInstanceScaling"),
            "RoutingConfig": variant.get("RoutingConfig"),
        }
        model = self.moto._models.get(variant.get("ModelName", ""))
        image = (model.primary_container or {}).get("Image") if model else None
        if image and running:
            digest = hashlib.sha256(image.encode("utf-8")).hexdigest()
            summary["DeployedImages"] = [
                {"SpecifiedImage": image, "ResolvedImage": f"{image}@sha256:{digest}", "ResolutionTime": state.created}
            ]
        return summary

    def list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = []
        for name in list(self.moto.endpoints):
            state = self.endpoint_state(name)
            rows.append(
                {
                    "EndpointName": name,
                    "EndpointArn": self.moto.endpoints[name].arn,
                    "CreationTime": state.created,
                    "LastModifiedTime": state.modified,
                    "EndpointStatus": state.status,
                }
            )
        rows = _filter_rows(rows, params, name_key="EndpointName", status_key="EndpointStatus")
        page, token = _page(rows, params)
        return {"Endpoints": page, "NextToken": token}

    def update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        state = self.endpoint_state(name)
        fake = self.moto.endpoints[name]
        if state.status != "InService":
            raise validation_exception(f'Cannot update in-progress endpoint "{fake.arn}".')
        config = self._config(config_name)
        old = self._config(state.config_name) if state.config_name in self.moto.endpoint_configs else None
        if old is not None and old.component_based != config.component_based:
            raise validation_exception(
                "An endpoint cannot switch between models and inference components: create a new endpoint instead."
            )
        self._check_quota(config)
        state.status, state.failure_reason = "Updating", None
        state.pending_config, state.update_started = config_name, now()
        state.modified = state.update_started
        fake.endpoint_status = "Updating"
        failure = self._start_containers(name, config)

        def finish() -> None:
            state.status, state.modified = "InService", now()
            if failure is None:
                state.config_name = fake.endpoint_config_name = config_name
            else:  # blue/green: the new fleet failed, traffic stays on the old one
                state.failure_reason = failure
            state.pending_config = state.update_started = None
            fake.endpoint_status, fake.failure_reason = state.status, state.failure_reason

        state.pending = self._later(finish)
        return {"EndpointArn": fake.arn}

    def delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        state = self.endpoint_state(name)
        fake = self.moto.endpoints[name]
        if state.status == "Deleting":
            raise validation_exception(f'Cannot delete endpoint "{fake.arn}": it is already being deleted.')
        attached = sorted(component.name for component in self.components.values() if component.endpoint_name == name)
        if attached:
            raise validation_exception(
                f'Cannot delete endpoint "{fake.arn}" while it has inference components ({", ".join(attached)}): '
                "delete the inference components first."
            )
        state.status = fake.endpoint_status = "Deleting"
        state.modified = now()

        def finish() -> None:
            self.moto.endpoints.pop(name, None)
            self.endpoints.pop(name, None)

        state.pending = self._later(finish)
        return {}

    # --- inference components ---------------------------------------------------------------------------
    def _component(self, name: str) -> InferenceComponent:
        component = self.components.get(name)
        if component is None:
            raise validation_exception(f'Could not find inference component "{self.arn("inference-component", name)}".')
        return component

    def _component_host(self, endpoint_name: str, variant_name: str) -> tuple[EndpointState, dict[str, Any]]:
        state = self.endpoint_state(endpoint_name)
        arn = self.moto.endpoints[endpoint_name].arn
        config = self._config(state.config_name)
        variant = next((v for v in config.production_variants if v["VariantName"] == variant_name), None)
        if variant is None:
            raise validation_exception(f'Could not find variant "{variant_name}" in endpoint "{arn}".')
        if "ModelName" in variant:
            raise validation_exception(
                f'Endpoint "{arn}" serves model {variant["ModelName"]} in variant {variant_name}: inference '
                "components need an endpoint whose production variants have no ModelName."
            )
        if state.status != "InService":
            raise validation_exception(
                f'Endpoint "{arn}" is in {state.status} status: inference components can only be deployed to an '
                "InService endpoint."
            )
        return state, variant

    def _check_fit(
        self, variant: dict[str, Any], specification: dict[str, Any], copies: int, endpoint: str, skip: str | None
    ) -> None:
        """SageMaker's placement checks: one copy fits an instance, and all copies fit the fleet."""
        capacity = spec(variant["InstanceType"])
        needs = specification.get("ComputeResourceRequirements") or {}
        if capacity is None or not needs:
            return
        per_copy = (
            float(needs.get("NumberOfAcceleratorDevicesRequired") or 0),
            float(needs.get("NumberOfCpuCoresRequired") or 0),
            float(needs.get("MinMemoryRequiredInMb") or 0),
        )
        limits = (capacity.accelerators, capacity.vcpus, capacity.memory_mib)
        labels = ("accelerator devices", "CPU cores", "MiB of memory")
        for need, limit, label in zip(per_copy, limits, labels, strict=True):
            if need > limit:
                raise validation_exception(
                    f"The compute resource requirements ask for {need:g} {label} per copy, but instance type "
                    f"{variant['InstanceType']} has {limit:g}: lower ComputeResourceRequirements or use a larger "
                    "instance type."
                )
        instances = int(variant.get("InitialInstanceCount") or 1)
        used = [0.0, 0.0, 0.0]
        for other in self.components.values():
            if other.endpoint_name != endpoint or other.name == skip or other.status in {"Failed", "Deleting"}:
                continue
            other_needs = other.specification.get("ComputeResourceRequirements") or {}
            for index, key in enumerate(
                ("NumberOfAcceleratorDevicesRequired", "NumberOfCpuCoresRequired", "MinMemoryRequiredInMb")
            ):
                used[index] += float(other_needs.get(key) or 0) * other.copy_count
        for need, limit, already, label in zip(per_copy, limits, used, labels, strict=True):
            if need * copies + already > limit * instances:
                raise validation_exception(
                    f"Insufficient capacity: {copies} copies need {need * copies:g} {label} but endpoint {endpoint} "
                    f"has {limit * instances - already:g} free on {instances} {variant['InstanceType']} instance(s): "
                    "lower the copy count or add instances."
                )

    def _start_component(self, component: InferenceComponent, specification: dict[str, Any]) -> str | None:
        model = self._model(specification["ModelName"]) if specification.get("ModelName") else None
        environment = model_environment(model) if model else {}
        model_id = environment.get("HF_MODEL_ID", model.model_name if model else component.name)
        failure = CURRENT.config.failure_for(component.name, component.endpoint_name, model_id)
        state = self.endpoint_state(component.endpoint_name)
        config = self._config(state.config_name)
        variant = next(v for v in config.production_variants if v["VariantName"] == component.variant_name)
        for copy in range(component.copy_count):
            stream = container_logs.stream_name(component.variant_name, component.name, copy)
            lines = container_logs.startup_lines(model_id, environment, variant.get("InstanceType", ""), failure)
            group = container_logs.component_log_group(component.name)
            container_logs.write(self.account_id, self.region_name, group, stream, lines)
        return COMPONENT_HEALTH_CHECK_FAILURE.format(component=component.name) if failure else None

    def create_inference_component(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["InferenceComponentName"]
        if name in self.components:
            raise validation_exception(
                f'Cannot create already existing inference component "{self.arn("inference-component", name)}".'
            )
        endpoint_name, variant_name = params["EndpointName"], params["VariantName"]
        _, variant = self._component_host(endpoint_name, variant_name)
        specification = params.get("Specification") or {}
        if not specification.get("ModelName"):
            raise validation_exception("Specification.ModelName is required: name the model this component serves.")
        self._model(specification["ModelName"])
        copies = int((params.get("RuntimeConfig") or {}).get("CopyCount", 1))
        self._check_fit(variant, specification, copies, endpoint_name, skip=None)
        created = now()
        component = InferenceComponent(
            name=name,
            arn=self.arn("inference-component", name),
            endpoint_name=endpoint_name,
            endpoint_arn=self.moto.endpoints[endpoint_name].arn,
            variant_name=variant_name,
            specification=specification,
            copy_count=copies,
            status="Creating",
            created=created,
            modified=created,
            tags=list(params.get("Tags") or []),
        )
        self.components[name] = component
        failure = self._start_component(component, specification)

        def finish() -> None:
            component.modified = now()
            if failure is None:
                component.status, component.current_copy_count = "InService", component.copy_count
            else:
                component.status, component.failure_reason = "Failed", failure

        component.pending = self._later(finish)
        return {"InferenceComponentArn": component.arn}

    def describe_inference_component(self, params: dict[str, Any]) -> dict[str, Any]:
        component = self._component(params["InferenceComponentName"])
        return {
            "InferenceComponentName": component.name,
            "InferenceComponentArn": component.arn,
            "EndpointName": component.endpoint_name,
            "EndpointArn": component.endpoint_arn,
            "VariantName": component.variant_name,
            "FailureReason": component.failure_reason,
            "Specification": component.specification,
            "RuntimeConfig": {
                "DesiredCopyCount": component.copy_count,
                "CurrentCopyCount": component.current_copy_count,
            },
            "CreationTime": component.created,
            "LastModifiedTime": component.modified,
            "InferenceComponentStatus": component.status,
        }

    def list_inference_components(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = [
            {
                "CreationTime": component.created,
                "InferenceComponentArn": component.arn,
                "InferenceComponentName": component.name,
                "EndpointArn": component.endpoint_arn,
                "EndpointName": component.endpoint_name,
                "VariantName": component.variant_name,
                "InferenceComponentStatus": component.status,
                "LastModifiedTime": component.modified,
            }
            for component in self.components.values()
        ]
        if params.get("EndpointNameEquals"):
            rows = [row for row in rows if row["EndpointName"] == params["EndpointNameEquals"]]
        if params.get("VariantNameEquals"):
            rows = [row for row in rows if row["VariantName"] == params["VariantNameEquals"]]
        rows = _filter_rows(rows, params, name_key="InferenceComponentName", status_key="InferenceComponentStatus")
        page, token = _page(rows, params)
        return {"InferenceComponents": page, "NextToken": token}

    def _updatable(self, name: str) -> InferenceComponent:
        component = self._component(name)
        if component.status != "InService":
            raise validation_exception(
                f'Cannot update inference component "{component.arn}" while it is in {component.status} status.'
            )
        return component

    def update_inference_component(self, params: dict[str, Any]) -> dict[str, Any]:
        component = self._updatable(params["InferenceComponentName"])
        specification = {**component.specification, **(params.get("Specification") or {})}
        copies = int((params.get("RuntimeConfig") or {}).get("CopyCount", component.copy_count))
        self._model(specification["ModelName"])
        state = self.endpoint_state(component.endpoint_name)
        variant = next(
            v for v in self._config(state.config_name).production_variants if v["VariantName"] == component.variant_name
        )
        self._check_fit(variant, specification, copies, component.endpoint_name, skip=component.name)
        return self._update_component(component, specification, copies, start_containers=True)

    def update_inference_component_runtime_config(self, params: dict[str, Any]) -> dict[str, Any]:
        component = self._updatable(params["InferenceComponentName"])
        copies = int(params["DesiredRuntimeConfig"].get("CopyCount", component.copy_count))
        state = self.endpoint_state(component.endpoint_name)
        variant = next(
            v for v in self._config(state.config_name).production_variants if v["VariantName"] == component.variant_name
        )
        self._check_fit(variant, component.specification, copies, component.endpoint_name, skip=component.name)
        return self._update_component(component, component.specification, copies, start_containers=False)

    def _update_component(
        self, component: InferenceComponent, specification: dict[str, Any], copies: int, *, start_containers: bool
    ) -> dict[str, Any]:
        old_specification, old_copies = component.specification, component.copy_count
        component.status, component.failure_reason, component.modified = "Updating", None, now()
        component.specification, component.copy_count = specification, copies
        failure = self._start_component(component, specification) if start_containers else None

        def finish() -> None:
            component.status, component.modified = "InService", now()
            if failure is None:
                component.current_copy_count = copies
            else:  # the new copies never passed the health check: SageMaker rolls back
                component.specification, component.copy_count = old_specification, old_copies
                component.failure_reason = failure

        component.pending = self._later(finish)
        return {"InferenceComponentArn": component.arn}

    def delete_inference_component(self, params: dict[str, Any]) -> dict[str, Any]:
        component = self._component(params["InferenceComponentName"])
        if component.status == "Deleting":
            raise validation_exception(
                f'Cannot delete inference component "{component.arn}": it is already being deleted.'
            )
        component.status, component.modified = "Deleting", now()
        component.current_copy_count = 0

        def finish() -> None:
            self.components.pop(component.name, None)

        component.pending = self._later(finish)
        return {}

    # --- tags -------------------------------------------------------------------------------------------
    def _taggable(self, arn: str) -> Any:
        resource_type, _, name = arn.split(":", 5)[-1].partition("/")
        if resource_type == "inference-component":
            return self.components.get(name)
        try:
            resource = self.moto._get_resource_from_arn(arn)
        except (AttributeError, ValueError, AwsError):
            resource = None
        return resource

    def _tagged(self, arn: str) -> Any:
        resource = self._taggable(arn)
        if resource is None or not hasattr(resource, "tags"):
            raise validation_exception(f'Could not find resource "{arn}".')
        return resource

    def add_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        """Add or overwrite tags by key, as SageMaker does (moto alone would append duplicates)."""
        resource = self._tagged(params["ResourceArn"])
        tags = {tag["Key"]: tag.get("Value", "") for tag in resource.tags}
        tags.update({tag["Key"]: tag.get("Value", "") for tag in params["Tags"]})
        resource.tags = [{"Key": key, "Value": value} for key, value in tags.items()]
        return {"Tags": params["Tags"]}

    def list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        resource = self._tagged(params["ResourceArn"])
        page, token = _page(list(resource.tags), params)
        return {"Tags": page, "NextToken": token}

    def delete_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        resource = self._tagged(params["ResourceArn"])
        resource.tags = [tag for tag in resource.tags if tag["Key"] not in set(params["TagKeys"])]
        return {}


def model_environment(model: Model) -> dict[str, str]:
    """The container environment of a model (primary container, else the first of its containers)."""
    container = model.primary_container or (model.containers[0] if model.containers else {}) or {}
    return dict(container.get("Environment") or {})


def _filter_rows(rows: list[dict[str, Any]], params: dict[str, Any], *, name_key: str, status_key: str) -> list[dict]:
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
            limit = _as_datetime(params[key])
            rows = [row for row in rows if (row[column] < limit if before else row[column] > limit)]
    sort_by = {"Name": name_key, "Status": status_key}.get(params.get("SortBy", ""), "CreationTime")
    return sorted(rows, key=lambda row: row[sort_by], reverse=params.get("SortOrder", "Descending") == "Descending")


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _page(rows: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page of `rows` for MaxResults/NextToken (the token is the offset of the next page)."""
    start = int(params["NextToken"]) if str(params.get("NextToken", "")).isdigit() else 0
    size = int(params.get("MaxResults") or 100)
    end = start + size
    return rows[start:end], (str(end) if end < len(rows) else None)


sagemaker_extension_backends = BackendDict(SageMakerExtensionBackend, "sagemaker")

OPERATIONS: dict[str, Callable[[SageMakerExtensionBackend, dict[str, Any]], dict[str, Any]]] = {
    "CreateEndpointConfig": SageMakerExtensionBackend.create_endpoint_config,
    "DescribeEndpointConfig": SageMakerExtensionBackend.describe_endpoint_config,
    "CreateEndpoint": SageMakerExtensionBackend.create_endpoint,
    "DescribeEndpoint": SageMakerExtensionBackend.describe_endpoint,
    "ListEndpoints": SageMakerExtensionBackend.list_endpoints,
    "UpdateEndpoint": SageMakerExtensionBackend.update_endpoint,
    "DeleteEndpoint": SageMakerExtensionBackend.delete_endpoint,
    "CreateInferenceComponent": SageMakerExtensionBackend.create_inference_component,
    "DescribeInferenceComponent": SageMakerExtensionBackend.describe_inference_component,
    "ListInferenceComponents": SageMakerExtensionBackend.list_inference_components,
    "UpdateInferenceComponent": SageMakerExtensionBackend.update_inference_component,
    "UpdateInferenceComponentRuntimeConfig": SageMakerExtensionBackend.update_inference_component_runtime_config,
    "DeleteInferenceComponent": SageMakerExtensionBackend.delete_inference_component,
    "AddTags": SageMakerExtensionBackend.add_tags,
    "ListTags": SageMakerExtensionBackend.list_tags,
    "DeleteTags": SageMakerExtensionBackend.delete_tags,
}
"""Operations this backend answers; every other SageMaker operation is moto's."""


def backend(account_id: str, region: str) -> SageMakerExtensionBackend:
    return sagemaker_extension_backends[account_id][region]
