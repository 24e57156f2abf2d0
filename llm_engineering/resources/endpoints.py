"""The remote SageMaker resources a deployment waits on: endpoints and inference components.

Shaped after huggingface_hub's `InferenceEndpoint`: a small object per remote resource whose verbs act and
return it: `fetch()` refreshes it from AWS through one mapper (`_absorb`), `wait()` polls until it
settles, `delete()` starts its removal. A resource that is gone has status `Deleted` rather than raising,
so cleanup and retries stay simple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from botocore.exceptions import ClientError

from llm_engineering import tags as tool_tags
from llm_engineering.aws import get_or_none, paginate
from llm_engineering.errors import UserFacingError
from llm_engineering.refusals import is_not_found
from llm_engineering.resources.waiting import Poller, ProgressCallback
from llm_engineering.statuses import BILLING, COMPONENT_TRANSITIONAL, ENDPOINT_TRANSITIONAL, Status

ResourceKind = Literal[
    "model",
    "endpoint-config",
    "endpoint",
    "inference-component",
    "scalable-target",
    "alarm",  # the last two: autoscaling
]


@dataclass(frozen=True)
class Resource:
    """A reference to one SageMaker resource, by kind and name (what a plan creates, or what is left)."""

    kind: ResourceKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class ResourceFailed(UserFacingError):
    """A resource ended in a failed state (or its update was rolled back); `reason` is SageMaker's."""

    def __init__(self, kind: str, name: str, status: str, reason: str | None) -> None:
        super().__init__(f"{kind} {name} is {status}: {reason or 'SageMaker gave no reason'}")
        self.kind = kind
        self.name = name
        self.status = status
        self.reason = reason


@dataclass
class Remote:
    """Base for a SageMaker resource polled through its Describe call."""

    kind: ClassVar[str]
    transitional: ClassVar[frozenset[Status]]

    client: Any = field(repr=False)
    name: str
    status: Status = Status.UNKNOWN
    arn: str | None = None
    failure_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def _describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def _delete(self) -> Any:
        raise NotImplementedError

    def _absorb(self, description: dict[str, Any]) -> None:
        raise NotImplementedError

    @property
    def target(self) -> str | None:
        """What the resource runs (its config or model): an update is rolled back when this did not change."""
        raise NotImplementedError

    @classmethod
    def get(cls, client: Any, name: str) -> Self | None:
        """The resource if it exists, else None."""
        resource = cls(client=client, name=name).fetch()
        return resource if resource.exists else None

    def fetch(self) -> Self:
        """Refresh from AWS; a missing resource gets status `Deleted`."""
        description = get_or_none(self._describe)
        if description is None:
            self.status, self.raw = Status.DELETED, {}
            return self
        self.raw = description
        self.failure_reason = description.get("FailureReason")
        self._absorb(description)
        return self

    @property
    def exists(self) -> bool:
        return self.status != Status.DELETED

    @property
    def settling(self) -> bool:
        """In a state that ends by itself (Creating, Updating, Deleting, ...)."""
        return self.status in self.transitional

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.name}"

    def wait(
        self,
        poller: Poller,
        timeout: float,
        on_progress: ProgressCallback | None = None,
        *,
        expect: str | None = None,
    ) -> Self:
        """Poll until the status leaves the transitional states; raise `ResourceFailed` unless InService.

        With `expect` (the config or model an update switched to), an update that SageMaker rolled back to
        what ran before fails too.
        """
        poller.until(
            self.fetch,
            lambda resource: resource.status,
            lambda resource: not resource.settling,
            subject=self.subject,
            timeout=timeout,
            on_progress=on_progress,
        )
        if self.status == Status.DELETED:
            raise ResourceFailed(self.kind, self.name, "gone", "it was deleted by something else while this run waited")
        if self.status != Status.IN_SERVICE:
            raise ResourceFailed(self.kind, self.name, self.status, self.failure_reason)
        if expect is not None and self.target != expect:  # SageMaker may leave the FailureReason empty here
            reason = self.failure_reason or f"it still runs {self.target}, not {expect}"
            raise ResourceFailed(self.kind, self.name, "rolled back", reason)
        return self

    def settle(self, poller: Poller, timeout: float, on_progress: ProgressCallback | None = None) -> Self:
        """Wait out a transition (Creating, Updating, ...) before deleting: SageMaker refuses deletes mid-way.

        A resource already Deleting (or gone) is left as it is.
        """
        if self.settling and self.status != Status.DELETING:
            poller.until(
                self.fetch,
                lambda resource: resource.status,
                lambda resource: not resource.settling or resource.status == Status.DELETING,
                subject=self.subject,
                timeout=timeout,
                on_progress=on_progress,
            )
        return self

    def delete(self) -> Self:
        """Start deletion. A resource already gone, or already Deleting (an earlier run was interrupted, or
        someone else deletes it), is fine: its deletion is in progress, and `wait_deleted` waits for it."""
        if self.status == Status.DELETING:
            return self
        try:
            self._delete()
        except ClientError as error:
            if is_not_found(error):
                return self
            if self.fetch().status not in (Status.DELETING, Status.DELETED):  # "already being deleted" races
                raise
        return self

    def wait_deleted(self, poller: Poller, timeout: float, on_progress: ProgressCallback | None = None) -> Self:
        """Poll until the resource is gone."""
        poller.until(
            self.fetch,
            lambda resource: resource.status,
            lambda resource: not resource.exists,
            subject=self.subject,
            timeout=timeout,
            on_progress=on_progress,
        )
        return self

    def tags(self) -> dict[str, str]:
        """The resource's tags (empty when it has no ARN yet, or is gone)."""
        return tool_tags.read_if_exists(self.client, ResourceArn=self.arn) if self.arn else {}


@dataclass
class Endpoint(Remote):
    """An endpoint; `config_name` is the endpoint config it currently runs."""

    kind: ClassVar[str] = "Endpoint"
    transitional: ClassVar[frozenset[Status]] = ENDPOINT_TRANSITIONAL

    config_name: str | None = None
    _config: dict[str, Any] | None = field(default=None, repr=False)

    def _describe(self) -> dict[str, Any]:
        return self.client.describe_endpoint(EndpointName=self.name)

    def _delete(self) -> Any:
        return self.client.delete_endpoint(EndpointName=self.name)

    def _absorb(self, description: dict[str, Any]) -> None:
        self.status = Status(description["EndpointStatus"])
        self.arn = description.get("EndpointArn")
        if description.get("EndpointConfigName") != self.config_name:
            self._config = None
        self.config_name = description.get("EndpointConfigName")

    @property
    def target(self) -> str | None:
        return self.config_name

    def config(self) -> dict[str, Any]:
        """The endpoint config it runs (empty if that config was deleted meanwhile); read once."""
        if self._config is None and self.config_name:
            found = get_or_none(self.client.describe_endpoint_config, EndpointConfigName=self.config_name)
            self._config = found or {}
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


@dataclass
class InferenceComponent(Remote):
    """An inference component; `model_name` is the model its specification runs."""

    kind: ClassVar[str] = "Inference component"
    transitional: ClassVar[frozenset[Status]] = COMPONENT_TRANSITIONAL

    endpoint_name: str | None = None
    model_name: str | None = None

    def _describe(self) -> dict[str, Any]:
        return self.client.describe_inference_component(InferenceComponentName=self.name)

    def _delete(self) -> Any:
        return self.client.delete_inference_component(InferenceComponentName=self.name)

    def _absorb(self, description: dict[str, Any]) -> None:
        self.status = Status(description["InferenceComponentStatus"])
        self.arn = description.get("InferenceComponentArn")
        self.endpoint_name = description.get("EndpointName")
        self.model_name = description.get("Specification", {}).get("ModelName")

    @property
    def target(self) -> str | None:
        return self.model_name


def components_on(client: Any, endpoint_name: str) -> list[InferenceComponent]:
    """Every inference component on an endpoint, fetched."""
    listed = paginate(client, "list_inference_components", "InferenceComponents", EndpointNameEquals=endpoint_name)
    found = (InferenceComponent(client=client, name=item["InferenceComponentName"]).fetch() for item in listed)
    return [component for component in found if component.exists]


def _same_role(arn: str | None, role_arn: str) -> bool:
    """Role ARNs name the same role (same account and name; a path may be written or not)."""
    if not arn:
        return False
    account, name = arn.split(":")[4:5], arn.rsplit("/", 1)[-1]
    return account == role_arn.split(":")[4:5] and name == role_arn.rsplit("/", 1)[-1]


def endpoints_using_role(client: Any, role_arn: str) -> list[str]:
    """This tool's live endpoints that run as `role_arn`: their endpoint config (inference-component endpoints)
    or one of their models names it as ExecutionRoleArn."""
    using: list[str] = []
    for listed in paginate(client, "list_endpoints", "Endpoints"):
        endpoint = Endpoint.get(client, listed["EndpointName"])
        if endpoint is None or endpoint.status not in BILLING:
            continue
        if not tool_tags.is_managed(endpoint.tags()):
            continue
        roles = [endpoint.config().get("ExecutionRoleArn")]
        models = list(endpoint.model_names)
        if endpoint.hosts_components:
            models += [
                component.model_name for component in components_on(client, endpoint.name) if component.model_name
            ]
        for name in models:
            model = get_or_none(client.describe_model, ModelName=name)
            roles.append((model or {}).get("ExecutionRoleArn"))
        if any(_same_role(arn, role_arn) for arn in roles):
            using.append(endpoint.name)
    return sorted(using)
