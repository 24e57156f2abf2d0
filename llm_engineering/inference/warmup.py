"""An inference component scaled to zero: recognising SageMaker's refusal, saying how long, and waiting.

While a component has no copy, SageMaker refuses every invocation until autoscaling has started one (the
refusal itself is what raises the alarm that starts it). The client turns the refusal into one line that
says so, with an estimate from the component's own start-up settings; `--wait` retries with a progress line
until the first token. Part of the light client path: no boto3 beyond the clients it is given, no hosting/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from llm_engineering import tags as tool_tags
from llm_engineering.errors import AwsRequestError
from llm_engineering.retrying import Attempt, Backoff, Retry, of_type

_NO_CAPACITY = re.compile(r"no capacity", re.IGNORECASE)
"""SageMaker's wording for an invocation of a component without a copy (unverified against AWS: see
`local.autoscaling.NO_CAPACITY_MESSAGE`); its counterpart metric is NoCapacityInvocationFailures."""

T = TypeVar("T")


class ScaledToZeroError(AwsRequestError):
    """The component has no copy right now; one is (or will shortly be) starting."""

    def __init__(self, message: str, component: str) -> None:
        super().__init__(message)
        self.component = component


def is_no_capacity(code: str, message: str) -> bool:
    return code == "ValidationError" and bool(_NO_CAPACITY.search(message))


def scaled_to_zero(component: str, described: dict[str, Any] | None, measured: int | None = None) -> ScaledToZeroError:
    """The one line for a refusal: what happens, about how long, what to do. How long: what the last deploy
    measured (`measured`, seconds from its request to a copy in service) when known, else the component's
    start-up timeout as the most it may take."""
    estimate = ""
    if described:
        startup = (described.get("Specification", {}).get("StartupParameters") or {}).get(
            "ContainerStartupHealthCheckTimeoutInSeconds"
        )
        runtime = described.get("RuntimeConfig", {})
        since = described.get("LastModifiedTime")
        if runtime.get("DesiredCopyCount", 0) > runtime.get("CurrentCopyCount", 0) and isinstance(since, datetime):
            started = max(0, int((datetime.now(UTC) - since).total_seconds()))
            estimate = f"; a copy has been starting for {started} s"
        if measured is not None:
            estimate += f" (its last deploy took about {measured} s to bring a copy into service)"
        elif startup:
            estimate += f" (its container start-up may take up to {startup} s)"
    return ScaledToZeroError(
        f"Inference component '{component}' is scaled to zero and warming up{estimate}: this request was refused "
        "and wakes it; retry in a few minutes, or pass --wait to retry until the first token.",
        component,
    )


def describe_component(control: Callable[[], Any] | None, component: str) -> dict[str, Any] | None:
    """DescribeInferenceComponent, or None when it cannot be read (the message then has no estimate)."""
    if control is None:
        return None
    try:
        return control().describe_inference_component(InferenceComponentName=component)
    except ClientError:
        return None


def measured_startup(control: Callable[[], Any] | None, described: dict[str, Any] | None) -> int | None:
    """The seconds the component's last deploy took to bring a copy into service (its `STARTUP_SECONDS` tag),
    or None when it was not recorded or cannot be read."""
    arn = (described or {}).get("InferenceComponentArn")
    if control is None or not arn:
        return None
    try:
        value = tool_tags.read(control(), ResourceArn=arn).get(tool_tags.STARTUP_SECONDS, "")
    except ClientError:
        return None
    return int(value) if value.isdigit() else None


def retry_while_warming(
    attempt: Callable[[], T],
    progress: Callable[[str], None],
    *,
    timeout: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`attempt()` again while the component is scaled to zero, up to `timeout` seconds; then its last refusal."""
    retry = Retry(Backoff(interval), deadline=timeout, retry_on=of_type(ScaledToZeroError), sleep=sleep, clock=clock)

    def report(tried: Attempt[T]) -> None:
        if isinstance(tried.error, ScaledToZeroError) and not tried.last:
            progress(f"waiting for a copy of {tried.error.component} (scaled to zero): {tried.elapsed:.0f} s")

    return retry.until(attempt, on_attempt=report)
