"""The remote SageMaker resources a deployment consists of: endpoints and inference components.

Shaped after huggingface_hub's `InferenceEndpoint`: a small object per remote resource whose `fetch()`
refreshes it from AWS, `wait()` polls until it settles, and `delete()` removes it. A resource that is gone
has status `Deleted` rather than raising, so cleanup and retries stay simple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from botocore.exceptions import ClientError

from llm_engineering.errors import UserFacingError
from llm_engineering.hosting.waiting import Poller, ProgressCallback

DELETED = "Deleted"


class ResourceFailed(UserFacingError):
    """A resource ended in a failed state (or its update was rolled back); `reason` is SageMaker's."""

    def __init__(self, kind: str, name: str, status: str, reason: str | None) -> None:
        super().__init__(f"{kind} {name} is {status}: {reason or 'SageMaker gave no reason'}")
        self.kind = kind
        self.name = name
        self.status = status
        self.reason = reason


def is_not_found(error: ClientError) -> bool:
    """SageMaker reports missing resources as validation errors with "Could not find"/"not found"."""
    details = error.response.get("Error", {})
    message = details.get("Message", "").lower()
    return details.get("Code") in {"ValidationException", "ValidationError", "ResourceNotFound"} and (
        "could not find" in message or "not found" in message or "does not exist" in message
    )


@dataclass
class Remote:
    """Base for a SageMaker resource polled through its Describe call."""

    kind: ClassVar[str]
    transitional: ClassVar[frozenset[str]]

    client: Any = field(repr=False)
    name: str
    status: str = "Unknown"
    arn: str | None = None
    failure_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def _describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def _delete(self) -> None:
        raise NotImplementedError

    def _absorb(self, description: dict[str, Any]) -> None:
        raise NotImplementedError

    @classmethod
    def get(cls, client: Any, name: str) -> Self | None:
        """The resource if it exists, else None."""
        resource = cls(client=client, name=name).fetch()
        return None if resource.status == DELETED else resource

    def fetch(self) -> Self:
        """Refresh from AWS; a missing resource gets status `Deleted`."""
        try:
            description = self._describe()
        except ClientError as error:
            if not is_not_found(error):
                raise
            self.status, self.raw = DELETED, {}
            return self
        self.raw = description
        self.failure_reason = description.get("FailureReason")
        self._absorb(description)
        return self

    @property
    def exists(self) -> bool:
        return self.status != DELETED

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.name}"

    def wait(self, poller: Poller, timeout: float, on_progress: ProgressCallback | None = None) -> Self:
        """Poll until the status leaves the transitional states; raise `ResourceFailed` unless InService."""
        poller.until(
            self.fetch,
            lambda resource: resource.status,
            lambda resource: resource.status not in self.transitional,
            subject=self.subject,
            timeout=timeout,
            on_progress=on_progress,
        )
        if self.status != "InService":
            raise ResourceFailed(self.kind, self.name, self.status, self.failure_reason)
        return self

    def delete(self) -> None:
        """Start deletion; a resource that is already gone or going is fine."""
        try:
            self._delete()
        except ClientError as error:
            if not is_not_found(error):
                raise

    def wait_deleted(self, poller: Poller, timeout: float, on_progress: ProgressCallback | None = None) -> None:
        """Poll until the resource is gone."""
        poller.until(
            self.fetch,
            lambda resource: resource.status,
            lambda resource: not resource.exists,
            subject=self.subject,
            timeout=timeout,
            on_progress=on_progress,
        )

    def tags(self) -> list[dict[str, str]]:
        """The resource's tags (empty when it has no ARN yet)."""
        if not self.arn:
            return []
        pages = self.client.get_paginator("list_tags").paginate(ResourceArn=self.arn)
        return [tag for page in pages for tag in page.get("Tags", [])]


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


@dataclass
class InferenceComponent(Remote):
    """An inference component; `model_name` is the model its specification runs."""

    kind: ClassVar[str] = "Inference component"
    transitional: ClassVar[frozenset[str]] = frozenset({"Creating", "Updating", "Deleting"})

    endpoint_name: str | None = None
    model_name: str | None = None

    def _describe(self) -> dict[str, Any]:
        return self.client.describe_inference_component(InferenceComponentName=self.name)

    def _delete(self) -> None:
        self.client.delete_inference_component(InferenceComponentName=self.name)

    def _absorb(self, description: dict[str, Any]) -> None:
        self.status = description["InferenceComponentStatus"]
        self.arn = description.get("InferenceComponentArn")
        self.endpoint_name = description.get("EndpointName")
        self.model_name = description.get("Specification", {}).get("ModelName")

    def wait_for_model(
        self, model_name: str, poller: Poller, timeout: float, on_progress: ProgressCallback | None = None
    ) -> InferenceComponent:
        """Wait for an update to `model_name`; SageMaker rolls a failed update back."""
        self.wait(poller, timeout, on_progress)
        if self.model_name != model_name:
            raise ResourceFailed(self.kind, self.name, "rolled back", self.failure_reason)
        return self


def components_on(client: Any, endpoint_name: str) -> list[InferenceComponent]:
    """Every inference component on an endpoint, fetched."""
    pages = client.get_paginator("list_inference_components").paginate(EndpointNameEquals=endpoint_name)
    names = [item["InferenceComponentName"] for page in pages for item in page.get("InferenceComponents", [])]
    found = (InferenceComponent(client=client, name=name).fetch() for name in names)
    return [component for component in found if component.exists]
