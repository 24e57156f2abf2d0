"""The two kinds of step a deployment plan is made of: a request to send, and a wait.

They live apart from `plan.py` so that the modules which contribute steps to a plan (`hosting.autoscaling`)
need not import the planner that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_engineering.hosting.resources import Resource


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
