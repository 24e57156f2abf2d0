"""A SageMaker endpoint as a small object: status, config, and whether it hosts inference components."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from llm_engineering.model.deploy.remote import Remote, ResourceFailed, is_not_found
from llm_engineering.model.deploy.waiting import Poller, ProgressCallback


@dataclass
class Endpoint(Remote):
    """An endpoint; `config_name` is the endpoint config it currently runs."""

    kind: ClassVar[str] = "Endpoint"
    transitional: ClassVar[frozenset[str]] = frozenset(
        {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
    )

    config_name: str | None = None
    _config: dict[str, Any] | None = field(default=None, repr=False)

    def _describe(self) -> dict[str, Any]:
        return self.client.describe_endpoint(EndpointName=self.name)

    def _delete(self) -> None:
        self.client.delete_endpoint(EndpointName=self.name)

    def _absorb(self, description: dict[str, Any]) -> None:
        self.status = description["EndpointStatus"]
        self.arn = description.get("EndpointArn")
        if description.get("EndpointConfigName") != self.config_name:
            self._config = None
        self.config_name = description.get("EndpointConfigName")

    def config(self) -> dict[str, Any]:
        """The endpoint config it runs (empty if that config was deleted meanwhile)."""
        if self._config is None and self.config_name:
            try:
                self._config = self.client.describe_endpoint_config(EndpointConfigName=self.config_name)
            except ClientError as error:
                if not is_not_found(error):
                    raise
                self._config = {}
        return self._config or {}

    @property
    def variants(self) -> list[dict[str, Any]]:
        return list(self.config().get("ProductionVariants", []))

    @property
    def hosts_components(self) -> bool:
        """Inference-component endpoints have variants without a model."""
        return any("ModelName" not in variant for variant in self.variants)

    @property
    def model_names(self) -> list[str]:
        return [variant["ModelName"] for variant in self.variants if "ModelName" in variant]

    def wait_for_config(
        self, config_name: str, poller: Poller, timeout: float, on_progress: ProgressCallback | None = None
    ) -> Endpoint:
        """Wait for an update to `config_name`; SageMaker rolls a failed update back to the old config."""
        self.wait(poller, timeout, on_progress)
        if self.config_name != config_name:
            raise ResourceFailed(self.kind, self.name, "rolled back", self.failure_reason)
        return self
