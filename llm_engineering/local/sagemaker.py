"""The SageMaker hosting pieces moto lacks, as a moto-style backend beside moto's own.

moto keeps models, endpoint configs and endpoints (so its tagging, listing and reset keep working); this
backend adds what a deployment depends on: endpoint configs for every instance type botocore knows and
for inference-component endpoints, endpoints that take time (Creating -> InService or Failed, Updating,
Deleting -> gone), inference components, account quotas, health-check failures with container logs,
and AddTags/ListTags/DeleteTags that know inference components (see `components.py`). States advance
when a request looks at them (`settle`), not on a timer, so no background thread races the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.core.base_backend import BackendDict
from moto.sagemaker.models import FakeEndpoint

from llm_engineering.local import container_logs, engines, metrics, model_data, scaling_targets
from llm_engineering.local.base import EndpointConfig, EndpointState
from llm_engineering.local.components import InferenceComponentOperations
from llm_engineering.local.faults import CURRENT
from llm_engineering.local.protocol import AwsError, validation_exception
from llm_engineering.local.records import filter_rows, model_environment, now, page
from llm_engineering.local.security import isolated_from_the_hub
from llm_engineering.statuses import HOLDING_INSTANCES

ENDPOINT_HEALTH_CHECK_FAILURE = (
    "The primary container for production variant {variant} did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
IN_PROGRESS = 'Cannot update in-progress endpoint "{arn}".'
"""SageMaker's refusal of UpdateEndpoint and DeleteEndpoint mid-transition: the word is "update" even for
DeleteEndpoint (AWS's own SageMaker operator for Kubernetes matches DeleteEndpoint refusals on this prefix)."""
IN_PROGRESS_STATES = {"Creating", "Updating", "SystemUpdating", "RollingBack"}
"""Endpoint states in which SageMaker refuses a DeleteEndpoint; SystemUpdating "cannot be updated or deleted
... until it has completed" (DescribeEndpoint's EndpointStatus documentation)."""
RUNNING_STATES = {"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"}
"""Endpoint states with instances up (DescribeEndpoint then reports current weights, counts and images)."""
ROLLED_BACK = (
    "Failed to update endpoint: the new production variant {variant} did not pass the ping health check; "
    "the endpoint was rolled back to endpoint configuration {config}."
)
"""The FailureReason of a rolled-back update (wording not verifiable: SageMaker's text is not documented)."""
INJECTED_REASONS = {
    "RollingBack": "Failed to update the instance count of production variant {variant}: rolling back to the "
    "previous capacity.",
    "UpdateRollbackFailed": "The rolling deployment and its automatic rollback both failed: the endpoint serves a "
    "mix of the old and the new endpoint configuration.",
}
"""FailureReasons of the states SageMaker enters by itself (wording not verifiable)."""
QUOTA_EXCEEDED = (
    "The account-level service limit '{instance_type} for endpoint usage' is {quota} Instances, with current "
    "utilization of {used} Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to "
    "request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request "
    "an increase for this quota."
)


class SageMakerExtensionBackend(InferenceComponentOperations):
    """Endpoint configs, endpoints and tags, beside the inference components it inherits."""

    def settle(self) -> None:
        """Apply the state changes due, then the states `endpoint_states` injects into InService endpoints."""
        super().settle()
        for name in list(self.moto.endpoints):
            state = self.endpoint_state(name)
            found = CURRENT.config.injected_state(name)
            if found is None or found in state.injected or state.status != "InService" or state.pending:
                continue
            state.injected.add(found)
            self._enter(name, state, found[1])

    def _enter(self, name: str, state: EndpointState, status: str) -> None:
        """An InService endpoint goes to `status` by SageMaker's own doing (maintenance, capacity, rollback)."""
        fake = self.moto.endpoints[name]
        variant = (fake.production_variants or [{}])[0].get("VariantName", "AllTraffic")
        reason = INJECTED_REASONS.get(status, "").format(variant=variant) or None
        state.status, state.failure_reason, state.modified = status, reason, now()
        fake.endpoint_status, fake.failure_reason = state.status, state.failure_reason
        if status in {"SystemUpdating", "RollingBack"}:

            def back_in_service() -> None:
                state.status, state.modified = "InService", now()
                if status == "SystemUpdating" or not CURRENT.config.rollback_failure_reason:
                    state.failure_reason = None
                fake.endpoint_status, fake.failure_reason = state.status, state.failure_reason

            state.pending = self._later(back_in_service)

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
            image = (model.primary_container or {}).get("Image")
            model_id = engines.model_id_of(image, environment, model.model_name)
            failure = CURRENT.config.failure_for(endpoint_name, model_id)
            silent = engines.fails_before_logging(image, variant.get("InferenceAmiVersion"))
            instance_type = variant.get("InstanceType", "")
            data = model_data.load(self.account_id, self.region_name, model)  # weights from S3, if any
            if data is not None and data.problem == "denied":  # SageMaker's download fails: no container starts
                failure_reason = failure_reason or model_data.DOWNLOAD_FAILED.format(uri=data.uri)
                continue
            isolated = isolated_from_the_hub(
                self.account_id, self.region_name, model, data is not None
            )  # network isolation, Hub weights
            for index in range(0 if silent else int(variant.get("InitialInstanceCount") or 1)):
                stream = container_logs.stream_name(variant["VariantName"], endpoint_name, index)
                lines = engines.startup_lines(image, model_id, environment, instance_type, failure, data)
                lines = lines[:2] + isolated if isolated else lines
                container_logs.write(
                    self.account_id, self.region_name, container_logs.endpoint_log_group(endpoint_name), stream, lines
                )
            if (failure is not None or silent or (data and data.problem) or isolated) and failure_reason is None:
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
            if state.status not in HOLDING_INSTANCES:
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
        count, desired = scaling_targets.variant_instances(self, state.name, variant)  # instances follow the scaling
        running = state.status in RUNNING_STATES
        summary: dict[str, Any] = {
            "VariantName": variant["VariantName"],
            "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)) if running else None,
            "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
            "CurrentInstanceCount": count if running else None,
            "DesiredInstanceCount": desired,
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
        rows = filter_rows(rows, params, name_key="EndpointName", status_key="EndpointStatus")
        rows_page, token = page(rows, params)
        return {"Endpoints": rows_page, "NextToken": token}

    def update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        state = self.endpoint_state(name)
        fake = self.moto.endpoints[name]
        if state.status != "InService":  # for Failed, OutOfService, ... the wording is not verifiable
            raise validation_exception(IN_PROGRESS.format(arn=fake.arn))
        config = self._config(config_name)
        old = self._config(state.config_name) if state.config_name in self.moto.endpoint_configs else None
        if old is not None and old.component_based != config.component_based:
            raise validation_exception(
                "An endpoint cannot switch between models and inference components: create a new endpoint instead."
            )
        if old is not None:  # a variant under autoscaling keeps its instance type (local/scaling_targets.py)
            scaling_targets.refuse_instance_type_change(
                self.account_id, self.region_name, name, old.production_variants, config.production_variants
            )
        self._check_quota(config)
        state.status, state.failure_reason = "Updating", None
        state.pending_config, state.update_started = config_name, now()
        state.modified = state.update_started
        fake.endpoint_status = "Updating"
        failure = self._start_containers(name, config)

        def finish() -> None:
            state.modified = now()
            state.pending_config = state.update_started = None
            if failure is None:
                state.status = "InService"
                state.config_name = fake.endpoint_config_name = config_name
            else:  # blue/green: the new fleet failed; SageMaker rolls back, traffic stays on the old one
                state.status, state.failure_reason = "RollingBack", failure
                state.pending = self._later(rolled_back)
            fake.endpoint_status, fake.failure_reason = state.status, state.failure_reason

        def rolled_back() -> None:
            state.status, state.modified = "InService", now()
            if not CURRENT.config.rollback_failure_reason:
                state.failure_reason = None
            fake.endpoint_status, fake.failure_reason = state.status, state.failure_reason

        if failure is not None:
            variant = config.production_variants[0]["VariantName"]
            failure = ROLLED_BACK.format(variant=variant, config=state.config_name)
        state.pending = self._later(finish)
        return {"EndpointArn": fake.arn}

    def delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        state = self.endpoint_state(name)
        fake = self.moto.endpoints[name]
        if state.status == "Deleting":
            raise validation_exception(f'Cannot delete endpoint "{fake.arn}": it is already being deleted.')
        if state.status in IN_PROGRESS_STATES:
            raise validation_exception(IN_PROGRESS.format(arn=fake.arn))
        attached = sorted(component.name for component in self.components.values() if component.endpoint_name == name)
        if attached:
            raise validation_exception(
                f'Cannot delete endpoint "{fake.arn}" while it has inference components ({", ".join(attached)}): '
                "delete the inference components first."
            )
        state.status = fake.endpoint_status = "Deleting"
        state.modified = now()
        self._deregister_variants(name)

        def finish() -> None:
            self.moto.endpoints.pop(name, None)
            self.endpoints.pop(name, None)

        state.pending = self._later(finish)
        return {}

    def _deregister_variants(self, name: str) -> None:
        """ "If you delete an endpoint, Application Auto Scaling checks to see whether any of the models on that
        endpoint are targets for auto scaling. If any are and you have permission to deregister the model,
        Application Auto Scaling deregisters those models as scalable targets" (SageMaker Developer Guide,
        "Delete endpoints configured for auto scaling"); deregistering deletes their scaling policies."""
        scaling = applicationautoscaling_backends[self.account_id][self.region_name]
        prefix = f"endpoint/{name}/variant/"
        for targets in scaling.targets.values():
            for resource_id in [resource_id for resource_id in targets if resource_id.startswith(prefix)]:
                del targets[resource_id]
        for key in [key for key, policy in scaling.policies.items() if policy.resource_id.startswith(prefix)]:
            del scaling.policies[key]

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
        rows_page, token = page(list(resource.tags), params)
        return {"Tags": rows_page, "NextToken": token}

    def delete_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        resource = self._tagged(params["ResourceArn"])
        resource.tags = [tag for tag in resource.tags if tag["Key"] not in set(params["TagKeys"])]
        return {}


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


def hosted_targets() -> list[metrics.Target]:
    """What CloudWatch's host metrics measure: every variant of an endpoint holding instances, and every
    component in service, in every backend (the sampler's targets, `metrics.register`)."""
    found: list[metrics.Target] = []
    for regions in list(sagemaker_extension_backends.values()):
        for extension in list(regions.values()):
            account, region = extension.account_id, extension.region_name
            components = [c for c in extension.components.values() if c.status in {"InService", "Updating"}]
            for component in components:
                dimensions = (("InferenceComponentName", component.name),)
                found.append((account, region, metrics.COMPONENT_HOSTS, dimensions, [dimensions]))
            for name in list(extension.moto.endpoints):
                state = extension.endpoint_state(name)
                config = extension.moto.endpoint_configs.get(state.config_name)
                if state.status not in RUNNING_STATES or config is None:
                    continue
                for variant in config.production_variants:
                    dimensions = (("EndpointName", name), ("VariantName", variant["VariantName"]))
                    hosted = [
                        (("InferenceComponentName", c.name),)
                        for c in components
                        if c.endpoint_name == name and c.variant_name == variant["VariantName"]
                    ]
                    found.append((account, region, metrics.ENDPOINT_HOSTS, dimensions, hosted or [dimensions]))
    return found
