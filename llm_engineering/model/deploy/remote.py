"""What endpoints and inference components share: fetch, wait, delete, and precise failures.

Shaped after huggingface_hub's `InferenceEndpoint`: a small object per remote resource whose `fetch()`
refreshes it from AWS, `wait()` polls until it settles, and `delete()` removes it. A resource that is gone
has status `Deleted` rather than raising, so cleanup and retries stay simple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from botocore.exceptions import ClientError

from llm_engineering.errors import UserFacingError
from llm_engineering.model.deploy.waiting import Poller, ProgressCallback

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
