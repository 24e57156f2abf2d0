"""The states of SageMaker endpoints and inference components, as one `str` Enum, and what each implies.

The values are botocore's `EndpointStatus` and `InferenceComponentStatus` enums (a test keeps them equal),
plus `Deleted` and `Unknown`, which this tool uses for a resource that is gone or that it has not read
yet. Every rule that depends on a state (wait, refuse to deploy, count against the quota, invoke) reads
one of the sets below, and every message about one reads `advice`, so a state SageMaker adds later needs one
edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    CREATING = "Creating"
    IN_SERVICE = "InService"
    UPDATING = "Updating"
    SYSTEM_UPDATING = "SystemUpdating"
    ROLLING_BACK = "RollingBack"
    DELETING = "Deleting"
    FAILED = "Failed"
    OUT_OF_SERVICE = "OutOfService"
    UPDATE_ROLLBACK_FAILED = "UpdateRollbackFailed"
    DELETED = "Deleted"
    """Not a SageMaker state: the resource does not exist (any more)."""
    UNKNOWN = "Unknown"
    """Not a SageMaker state: not read yet, or a value this tool does not know."""

    @classmethod
    def _missing_(cls, value: object) -> Status:
        return cls.UNKNOWN


ENDPOINT_TRANSITIONAL = frozenset(
    {Status.CREATING, Status.UPDATING, Status.SYSTEM_UPDATING, Status.ROLLING_BACK, Status.DELETING}
)
"""Endpoint states that end by themselves: waiting means polling until the state is none of these."""

COMPONENT_TRANSITIONAL = frozenset({Status.CREATING, Status.UPDATING, Status.DELETING})
"""The same for inference components, which have fewer states."""

HOLDING_INSTANCES = ENDPOINT_TRANSITIONAL | {Status.IN_SERVICE, Status.UPDATE_ROLLBACK_FAILED}
"""Endpoint states in which instances are (or are being) held against the account quota. UpdateRollbackFailed
is "in service with a mix of the old and new endpoint configurations"; whether an OutOfService endpoint still
holds its instances is not documented, so it is not counted."""

BILLING = HOLDING_INSTANCES - {Status.DELETING}
"""Endpoint states that go on billing until someone deletes the endpoint: those holding instances, but not
Deleting, which gives them back by itself. What `make status` counts among other people's endpoints, and what
keeps a role in use."""

MEANINGS: dict[Status, str] = {
    Status.SYSTEM_UPDATING: "SageMaker maintenance: it cannot be updated or deleted until it ends",
    Status.ROLLING_BACK: "SageMaker is rolling a failed change back to the previous configuration",
    Status.OUT_OF_SERVICE: "it takes no requests",
    Status.UPDATE_ROLLBACK_FAILED: "an update and its rollback both failed: it serves a mix of old and new",
}
"""What the states SageMaker enters by itself mean, in words for messages (from DescribeEndpoint's documentation)."""


def described(status: Status) -> str:
    """`status`, followed by its meaning in parentheses when it has one."""
    return f"{status} ({MEANINGS[status]})" if status in MEANINGS else str(status)


# --- What to tell a user about an endpoint that is not InService ----------------------------------------------


@dataclass(frozen=True)
class Advice:
    """What to do about an endpoint in one state, for someone who wants to use it (invoke it, benchmark it) and
    for someone who wants to deploy over it."""

    use: str
    deploy: str


_SETTLE_FIRST = "wait for it to settle, or remove it with make delete-inference-endpoint"
_REMOVE_FIRST = "remove it with make delete-inference-endpoint, then deploy again"
_TO_USE: dict[Status, str] = {
    Status.CREATING: "wait until it is InService (`make deploy-inference-endpoint` waits and shows progress)",
    Status.UPDATING: "wait until the update finishes and retry",
    Status.SYSTEM_UPDATING: "wait until SageMaker's maintenance finishes and retry",
    Status.ROLLING_BACK: "wait until the rollback finishes and retry",
    Status.DELETING: "it is going away: deploy it again with `make deploy-inference-endpoint`",
    Status.FAILED: "fix the cause, then redeploy with `make deploy-inference-endpoint` "
    "(or remove it with `make delete-inference-endpoint`)",
    Status.OUT_OF_SERVICE: "it takes no requests: remove it with `make delete-inference-endpoint`, then deploy again",
}
_TO_USE_OTHERWISE = "check it in the SageMaker console"


def advice(status: Status) -> Advice:
    """The advice for an endpoint in `status`: a state that ends by itself (`ENDPOINT_TRANSITIONAL`) is waited
    out before a deploy, any other removed first."""
    deploy = _SETTLE_FIRST if status in ENDPOINT_TRANSITIONAL else _REMOVE_FIRST
    return Advice(_TO_USE.get(status, _TO_USE_OTHERWISE), deploy)
