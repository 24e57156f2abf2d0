"""EventBridge Scheduler's one-time schedules, run by the emulator when they come due.

moto stores schedules and never runs them. This ticker (`clock.register`) finds every ENABLED `at(...)`
schedule whose time has come on the emulator's clock and calls its universal target against the emulator's own
SageMaker (`arn:aws:scheduler:::aws-sdk:sagemaker:<action>`, Input the API's JSON, checked against botocore's
model). A refused call is retried as the schedule's RetryPolicy allows (every RETRY_SECONDS, up to
MaximumRetryAttempts and MaximumEventAgeInSeconds after the due time), which is what lets an endpoint be
deleted once the component scheduled before it is gone. A one-time schedule runs once: with
`ActionAfterCompletion: DELETE` it is then removed. Only UTC schedules and SageMaker targets are run; the role's
permissions are not evaluated (moto does not enforce IAM), which AWS would do when it assumes the role.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.scheduler.models import scheduler_backends

from llm_engineering.local import clock, sagemaker
from llm_engineering.local.protocol import AwsError, check_input, operation

UNIVERSAL_TARGET = re.compile(r"^arn:aws[\w-]*:scheduler:::aws-sdk:(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)$")
AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
RETRY_SECONDS = 60.0
"""Between attempts on a refused target (the real scheduler backs off exponentially; the wait is not documented)."""
LOG = logging.getLogger(__name__)


@dataclass
class _Attempts:
    count: int = 0
    next_try: float = 0.0


_attempts: dict[str, _Attempts] = {}
_done: set[str] = set()
"""Schedules (by ARN and expression) that ran and stay (ActionAfterCompletion NONE): they do not run again."""


def due_time(schedule: Any) -> datetime | None:
    """When a one-time UTC schedule is due; None for rate/cron schedules or another time zone."""
    found = AT.match(schedule.schedule_expression or "")
    if found is None or (schedule.schedule_expression_timezone or "UTC") != "UTC":
        return None
    return datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC)


def _invoke(account: str, region: str, target: dict[str, Any]) -> None:
    """Call the universal target; an AwsError (or an unsupported target) means the attempt failed."""
    found = UNIVERSAL_TARGET.match(target.get("Arn", ""))
    if found is None or found["service"] != "sagemaker":
        raise AwsError(
            "ValidationException", f"The emulator runs only SageMaker universal targets: {target.get('Arn')}"
        )
    name = found["action"][0].upper() + found["action"][1:]
    handler = sagemaker.OPERATIONS.get(name)
    if handler is None:
        raise AwsError("ValidationException", f"The emulator does not run sagemaker:{found['action']} from a schedule.")
    params = json.loads(target.get("Input") or "{}")
    check_input(operation("sagemaker", name), params)
    backend = sagemaker.backend(account, region)
    backend.settle()
    handler(backend, params)


def run_due() -> None:
    """Run every schedule that has come due (the ticker)."""
    now = clock.now()
    for regions in list(scheduler_backends.values()):
        for backend in list(regions.values()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    key = f"{schedule.arn} {schedule.schedule_expression}"
                    when = due_time(schedule)
                    if schedule.state != "ENABLED" or when is None or when > now or key in _done:
                        continue
                    attempts = _attempts.setdefault(key, _Attempts())
                    if clock.monotonic() < attempts.next_try:
                        continue
                    attempts.count += 1
                    try:
                        _invoke(backend.account_id, backend.region_name, schedule.target)
                    except (AwsError, ValueError) as error:
                        policy = schedule.target.get("RetryPolicy") or {}
                        expired = (now - when).total_seconds() > policy.get("MaximumEventAgeInSeconds", 86400)
                        if attempts.count <= policy.get("MaximumRetryAttempts", 185) and not expired:
                            attempts.next_try = clock.monotonic() + RETRY_SECONDS
                            continue
                        LOG.warning("Schedule %s gave up after %d attempts: %s", schedule.arn, attempts.count, error)
                    _attempts.pop(key, None)
                    if schedule.action_after_completion == "DELETE":
                        group.schedules.pop(schedule.name, None)
                    else:
                        _done.add(key)


def reset() -> None:
    """Forget attempts (the emulator's reset; moto forgets the schedules)."""
    _attempts.clear()
    _done.clear()


def register() -> None:
    """Run schedules from now on (the emulator's start; idempotent)."""
    clock.register(run_due)
