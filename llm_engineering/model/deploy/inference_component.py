"""A SageMaker inference component as a small object: status, model and copies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from llm_engineering.model.deploy.remote import Remote, ResourceFailed
from llm_engineering.model.deploy.waiting import Poller, ProgressCallback


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
