"""The two kinds of step a deployment plan is made of: a request to send, and a wait.

They live apart from `plan.py` so that the modules which contribute steps to a plan (`hosting.autoscaling`)
need not import the planner that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_engineering.resources.endpoints import Resource


@dataclass(frozen=True)
class Call:
    """One AWS request; `creates` names the resource it brings into existence (for rollback), `service` the
    boto3 client that sends it (SageMaker for most; application-autoscaling and CloudWatch for scaling)."""

    operation: str
    params: dict[str, Any]
    creates: Resource | None = None
    service: str = "sagemaker"


@dataclass(frozen=True)
class Wait:
    """Wait until a resource is InService (on `expect`: the config or model an update switched to)."""

    resource: Resource
    expect: str | None = None


Step = Call | Wait


class ArnOf(str):
    """Stands in a request for the ARN of `resource`, which SageMaker names when it creates it: `apply.py` puts
    it in from what its wait read (the plan prints `<ARN of KIND NAME>`)."""

    resource: Resource

    def __new__(cls, resource: Resource) -> ArnOf:
        value = super().__new__(cls, f"<ARN of {resource}>")
        value.resource = resource
        return value


class SecondsUntilReady(str):
    """Stands in a tag value for the seconds this run took from the requests that started `resources` to each
    being InService (their sum): `apply.py` puts the figure in, or leaves the tag out when it did not wait."""

    resources: tuple[Resource, ...]

    def __new__(cls, *resources: Resource) -> SecondsUntilReady:
        value = super().__new__(cls, "<seconds until " + " then ".join(map(str, resources)) + " InService>")
        value.resources = resources
        return value
