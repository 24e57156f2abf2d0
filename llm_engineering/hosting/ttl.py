"""A time limit on an endpoint (ENDPOINT_TTL): EventBridge Scheduler deletes it, with no server of ours running.

A one-time schedule (`at(...)` in UTC, `ActionAfterCompletion: DELETE`) in the tool's schedule group calls
SageMaker directly through a universal target (`arn:aws:scheduler:::aws-sdk:sagemaker:deleteEndpoint`,
the API's own JSON as Input), as the scheduler role `make create-sagemaker-execution-role` creates. An
inference-component endpoint cannot be deleted while it hosts components, so it gets two schedules: the
component goes at the deadline, the endpoint COMPONENT_GRACE later, and the retry policy covers a component
still being deleted then. Schedules are named after the endpoint, so a redeploy, `make extend-ttl`, status
and delete find them again without listing. Configs and models outlive a scheduled delete: they cost nothing
and `make cleanup` removes them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from llm_engineering import TOOL_NAME
from llm_engineering.aws import Aws, arn_partition, delete_if_exists, get_or_none
from llm_engineering.catalogue.prices import Cost
from llm_engineering.durations import check_duration, describe
from llm_engineering.errors import ConfigurationError
from llm_engineering.iam.names import SCHEDULE_GROUP as GROUP
from llm_engineering.iam.names import scheduler_role_name
from llm_engineering.tags import tool_tags

DELETE_ENDPOINT = "deleteEndpoint"
DELETE_COMPONENT = "deleteInferenceComponent"
"""The SageMaker operations the schedules call, as EventBridge Scheduler's universal targets name them."""


def target_arn(partition: str, operation: str) -> str:
    """`arn:<partition>:scheduler:::aws-sdk:sagemaker:<operation>`: a universal target in the partition of the
    time-limit role (`aws-cn` in China, `aws-us-gov` in GovCloud)."""
    return f"arn:{partition}:scheduler:::aws-sdk:sagemaker:{operation}"

MINIMUM = timedelta(minutes=15)
"""A deploy of a 7-8B model takes 5-10 minutes: a shorter time limit would delete it before anyone used it."""
COMPONENT_GRACE = timedelta(minutes=5)
"""Between deleting the component and deleting its endpoint (SageMaker refuses the endpoint until it is gone)."""
RETRY_POLICY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
"""EventBridge Scheduler's maximum: retries on target errors for up to 24 hours."""
NAME_LIMIT = 64
_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")


def schedule_name(endpoint_name: str, step: str) -> str:
    """`<endpoint>-<step>`; a long endpoint name is shortened with a digest so the name stays unique and <= 64."""
    name = f"{endpoint_name}-{step}"
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(endpoint_name.encode()).hexdigest()[:8]
    return f"{endpoint_name[: NAME_LIMIT - len(step) - 10]}-{digest}-{step}"


def endpoint_schedule(endpoint_name: str) -> str:
    return schedule_name(endpoint_name, "ttl")


def component_schedule(endpoint_name: str) -> str:
    return schedule_name(endpoint_name, "ttl-ic")


def at_expression(when: datetime) -> str:
    return f"at({when.astimezone(UTC):%Y-%m-%dT%H:%M:%S})"


def parse_at(expression: str) -> datetime | None:
    found = _AT.match(expression or "")
    return datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC) if found else None


def check_ttl(value: str, source: str, minimum: timedelta = MINIMUM) -> timedelta:
    """The duration of `value`, refused when shorter than a deploy takes."""
    ttl = check_duration(value, source)
    if ttl < minimum:
        raise ConfigurationError(
            f"{source}={value!r} is shorter than a deploy takes (5-10 minutes for a 7-8B model): "
            f"the endpoint would delete itself before use; set {describe(minimum)} or more."
        )
    return ttl


@dataclass(frozen=True)
class Scheduled:
    """One schedule: which SageMaker delete it calls, on what, and when."""

    name: str
    target: str
    input: dict[str, str]
    at: datetime

    def request(self, role_arn: str, endpoint_name: str) -> dict[str, Any]:
        """CreateSchedule's (and UpdateSchedule's) parameters."""
        return {
            "Name": self.name,
            "GroupName": GROUP,
            "ScheduleExpression": at_expression(self.at),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Description": f"{TOOL_NAME}: time limit of endpoint {endpoint_name}",
            "Target": {
                "Arn": self.target,
                "RoleArn": role_arn,
                "Input": json.dumps(self.input),
                "RetryPolicy": RETRY_POLICY,
            },
        }


@dataclass(frozen=True)
class TimeLimit:
    """When an endpoint deletes itself, the schedules that do it, and what it will have cost by then."""

    endpoint_name: str
    expires: datetime
    ttl: timedelta
    role_arn: str
    schedules: tuple[Scheduled, ...]
    cost: Cost | None = None

    @property
    def usd_by_then(self) -> float | None:
        return None if self.cost is None else self.cost.after(self.ttl.total_seconds() / 3600)

    def lines(self) -> list[str]:
        """What the plan says about it."""
        cost = f", about USD {self.usd_by_then:.2f} by then" if self.usd_by_then is not None else ""
        lines = [
            f"  time limit     deletes itself at {self.expires:%Y-%m-%d %H:%M} UTC "
            f"(ENDPOINT_TTL={describe(self.ttl)}{cost}; make extend-ttl TTL=... moves it)"
        ]
        for item in self.schedules:
            action = item.target.rsplit(":", 1)[-1]
            lines.append(
                f"  schedule       {GROUP}/{item.name}: {action} {json.dumps(item.input)} at {item.at:%H:%M} UTC"
            )
        return lines


def plan_time_limit(
    endpoint_name: str,
    component_name: str | None,
    ttl: timedelta,
    role_arn: str,
    now: datetime,
    cost: Cost | None = None,
) -> TimeLimit:
    """The schedules that delete the endpoint `ttl` after `now` (its component first, when it hosts one)."""
    expires = (now + ttl).astimezone(UTC).replace(microsecond=0)
    partition = arn_partition(role_arn)
    schedules: list[Scheduled] = []
    endpoint_at = expires
    if component_name:
        schedules.append(
            Scheduled(
                component_schedule(endpoint_name),
                target_arn(partition, DELETE_COMPONENT),
                {"InferenceComponentName": component_name},
                expires,
            )
        )
        endpoint_at = expires + COMPONENT_GRACE
    schedules.append(
        Scheduled(
            endpoint_schedule(endpoint_name),
            target_arn(partition, DELETE_ENDPOINT),
            {"EndpointName": endpoint_name},
            endpoint_at,
        )
    )
    return TimeLimit(endpoint_name, expires, ttl, role_arn, tuple(schedules), cost)


def resolve_scheduler_role(aws: Aws, execution_role_name: str) -> str:
    """The scheduler role's ARN, or what to run when it is missing (before anything is created)."""
    name = scheduler_role_name(execution_role_name)
    found = get_or_none(aws.client("iam").get_role, RoleName=name)
    if found is None:
        raise ConfigurationError(
            f"ENDPOINT_TTL needs the IAM role {name}, which EventBridge Scheduler assumes to delete the endpoint: "
            "run make create-sagemaker-execution-role first."
        )
    return found["Role"]["Arn"]


def _ensure_group(scheduler: Any) -> None:
    if get_or_none(scheduler.get_schedule_group, Name=GROUP) is None:
        scheduler.create_schedule_group(Name=GROUP, Tags=tool_tags())


def apply_time_limit(aws: Aws, limit: TimeLimit) -> list[str]:
    """Create the schedules, or move the ones a previous deploy made; returns what changed."""
    scheduler = aws.client("scheduler")
    _ensure_group(scheduler)
    changes = []
    for item in limit.schedules:
        request = item.request(limit.role_arn, limit.endpoint_name)
        if get_or_none(scheduler.get_schedule, Name=item.name, GroupName=GROUP) is None:
            scheduler.create_schedule(**request)
            changes.append(f"created schedule {GROUP}/{item.name} ({at_expression(item.at)} UTC)")
        else:
            scheduler.update_schedule(**request)
            changes.append(f"moved schedule {GROUP}/{item.name} to {at_expression(item.at)} UTC")
    return changes


def remove_time_limit(aws: Aws, endpoint_name: str) -> list[str]:
    """Delete the endpoint's schedules (idempotent); returns what went."""
    scheduler = aws.client("scheduler")
    removed = []
    for name in (component_schedule(endpoint_name), endpoint_schedule(endpoint_name)):
        if delete_if_exists(scheduler.delete_schedule, Name=name, GroupName=GROUP):
            removed.append(f"schedule {GROUP}/{name}")
    return removed


def expiry(aws: Aws, endpoint_name: str) -> datetime | None:
    """When the endpoint's time limit deletes it (its first schedule), None without one."""
    scheduler = aws.client("scheduler")
    times = []
    for name in (component_schedule(endpoint_name), endpoint_schedule(endpoint_name)):
        found = get_or_none(scheduler.get_schedule, Name=name, GroupName=GROUP)
        if found is not None and found.get("State") == "ENABLED":
            when = parse_at(found.get("ScheduleExpression", ""))
            if when is not None:
                times.append(when)
    return min(times, default=None)
