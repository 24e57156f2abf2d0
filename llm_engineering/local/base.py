"""What the emulated SageMaker backend is made of: records of the resources moto lacks, and the plumbing
every operation uses (moto's own backend, ARNs, the clock of state changes, lookups with SageMaker's
not-found answers). Endpoint operations (`sagemaker.py`) and inference-component operations
(`components.py`) both build on `HostingBackend`, so neither needs the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.base_backend import BaseBackend
from moto.sagemaker.models import FakeEndpointConfig, Model, sagemaker_backends
from moto.sagemaker.utils import arn_formatter

from llm_engineering.local import clock
from llm_engineering.local.faults import CURRENT
from llm_engineering.local.protocol import validation_exception
from llm_engineering.local.records import Pending


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
    injected: set[tuple[str, str]] = field(default_factory=set)
    """(pattern, state) of the `endpoint_states` already applied to it: each happens once."""


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
    serving: dict[str, Any] | None = None
    """While an update starts new copies: the specification whose copies still serve (SageMaker switches
    traffic only once the new copies pass their health check)."""

    @property
    def served_model(self) -> str | None:
        """The model invocations reach now."""
        return (self.serving or self.specification).get("ModelName")


class HostingBackend(BaseBackend):
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
        due = clock.monotonic()
        for record in [*self.endpoints.values(), *self.components.values()]:
            if record.pending is not None and record.pending.at <= due:
                change, record.pending = record.pending, None
                change.apply()

    def _later(self, apply: Callable[[], None]) -> Pending:
        return Pending(clock.monotonic() + CURRENT.config.transition_seconds, apply)

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
