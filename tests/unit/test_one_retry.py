"""One retry mechanism (`retrying.Retry`), its waits, deadline and what it retries given as data, on a clock the
test moves: and the five loops that were written apart (waiting for a resource, a component scaled to zero,
a role not yet assumable, a new access key, an access-advisor job) each keep their schedule through it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr

from llm_engineering.iam import audit, rotation
from llm_engineering.iam.credentials import AccessKey
from llm_engineering.inference.warmup import ScaledToZeroError, retry_while_warming
from llm_engineering.resources.waiting import Poller, Progress, WaitTimeout
from llm_engineering.retrying import Attempt, Backoff, Exhausted, Retry, of_type


class Clock:
    """Time that moves only when the code under test sleeps (or a try takes `cost` seconds)."""

    def __init__(self, cost: float = 0.0) -> None:
        self.now, self.cost, self.sleeps = 0.0, cost, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def tried(self) -> None:
        self.now += self.cost


def answers(*values: Any) -> Callable[[], Any]:
    """A try that answers (or raises) each of `values` in turn, then the last one forever."""
    queue: Iterator[Any] = iter(values)
    last: list[Any] = []

    def attempt() -> Any:
        value = next(queue, last[0] if last else None)
        last[:] = [value]
        if isinstance(value, BaseException):
            raise value
        return value

    return attempt


def test_backoff_grows_to_its_ceiling() -> None:
    waits = iter(Backoff(2, 1.5, 15))
    assert [next(waits) for _ in range(8)] == [2, 3, 4.5, 6.75, 10.125, 15, 15, 15]
    fixed = iter(Backoff(5))
    assert [next(fixed) for _ in range(3)] == [5, 5, 5]


def test_it_stops_at_its_deadline_on_the_injected_clock() -> None:
    time = Clock()
    retry = Retry(Backoff(2, 1.5, 15), deadline=60, sleep=time.sleep, clock=time.clock)
    with pytest.raises(Exhausted) as gave_up:
        retry.until(lambda: "Creating", done=lambda status: status == "InService")
    assert time.sleeps == [2, 3, 4.5, 6.75, 10.125, 15, 15, 3.625]  # the last wait ends on the deadline
    assert time.now == 60 and gave_up.value.elapsed == 60 and gave_up.value.attempts == 9
    assert gave_up.value.last == "Creating"


def test_a_try_that_outlasts_the_deadline_is_the_last() -> None:
    time = Clock(cost=100)
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        time.tried()
        return "Creating"

    with pytest.raises(Exhausted):
        Retry(Backoff(1), deadline=60, sleep=time.sleep, clock=time.clock).until(slow, done=lambda _s: False)
    assert calls == [1] and time.sleeps == []


def test_a_tuple_of_waits_allows_one_try_more_and_the_last_refusal_is_raised() -> None:
    time = Clock()
    refusals = [ValueError(f"no {number}") for number in range(5)]
    with pytest.raises(ValueError, match="no 3"):
        Retry((1, 2, 3), retry_on=of_type(ValueError), sleep=time.sleep).until(answers(*refusals))
    assert time.sleeps == [1, 2, 3]


def test_only_what_retry_on_accepts_is_retried() -> None:
    time = Clock()
    with pytest.raises(KeyError):
        Retry((1, 1), retry_on=of_type(ValueError), sleep=time.sleep).until(answers(ValueError(), KeyError()))
    assert time.sleeps == [1]
    with pytest.raises(KeyboardInterrupt):
        Retry((1,), retry_on=of_type(Exception), sleep=time.sleep).until(answers(KeyboardInterrupt()))


def test_a_changed_answer_starts_the_waits_over() -> None:
    time = Clock()
    statuses = answers("Creating", "Creating", "Creating", "Updating", "Updating", "InService")
    retry = Retry(Backoff(2, 2, 100), deadline=1000, sleep=time.sleep, clock=time.clock)
    assert retry.until(statuses, done=lambda s: s == "InService", restart_on=lambda s: s) == "InService"
    assert time.sleeps == [2, 4, 8, 2, 4]


def test_every_try_is_reported_and_the_last_says_so() -> None:
    time = Clock()
    seen: list[Attempt[str]] = []
    Retry((0, 0), first_wait=5, sleep=time.sleep).until(
        answers("a", "b", "c"), done=lambda v: v == "c", on_attempt=seen.append
    )
    assert time.sleeps == [5, 0, 0]
    assert [(a.number, a.value, a.done, a.last) for a in seen] == [
        (1, "a", False, False),
        (2, "b", False, False),
        (3, "c", True, True),
    ]


# --- The five loops, through the mechanism ---------------------------------------------------------------


def test_waiting_for_a_resource_polls_as_it_always_has() -> None:
    """The schedule the apply tests know: 2 s, x1.5, at most 15 s, the last poll on the deadline."""
    time = Clock()
    progress: list[Progress] = []
    poller = Poller(first=2, factor=1.5, ceiling=15, sleep=time.sleep, clock=time.clock)
    with pytest.raises(WaitTimeout, match="endpoint e is still Creating after 60 s"):
        poller.until(
            lambda: "Creating", str, lambda _s: False, subject="endpoint e", timeout=60, on_progress=progress.append
        )
    assert [p.elapsed for p in progress] == [0, 2, 5, 9.5, 16.25, 26.375, 41.375, 56.375, 60]
    assert not any(p.done for p in progress)


def test_a_component_scaled_to_zero_is_retried_until_its_deadline() -> None:
    time = Clock()
    lines: list[str] = []
    cold = ScaledToZeroError("scaled to zero", "ic")
    with pytest.raises(ScaledToZeroError):
        retry_while_warming(answers(cold), lines.append, timeout=25, interval=10, sleep=time.sleep, clock=time.clock)
    assert time.sleeps == [10, 10, 5]
    assert lines == [f"waiting for a copy of ic (scaled to zero): {s} s" for s in (0, 10, 20)]
    assert (
        retry_while_warming(answers(cold, "token"), lines.append, timeout=25, interval=10, sleep=time.sleep) == "token"
    )


def _key(key_id: str) -> AccessKey:
    return AccessKey(key_id, SecretStr("secret"))


def test_a_new_key_is_proven_on_its_schedule() -> None:
    time = Clock()
    refused = ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": ""}}, "GetCallerIdentity")
    with pytest.raises(ClientError):
        rotation._prove(lambda _key: answers(refused)(), _key("AKIA1"), "arn:user", time.sleep)
    assert time.sleeps == [0, *rotation.PROOF.waits]
    with pytest.raises(RuntimeError, match="it signs as arn:other, not arn:user"):
        rotation._prove(lambda _key: "arn:other", _key("AKIA1"), "arn:user", time.sleep)


def test_an_access_advisor_job_is_read_until_it_completes() -> None:
    class Iam:
        def __init__(self, statuses: list[str]) -> None:
            self.statuses = statuses

        def generate_service_last_accessed_details(self, **_: Any) -> dict[str, str]:
            return {"JobId": "job"}

        def get_service_last_accessed_details(self, **_: Any) -> dict[str, Any]:
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return {"JobStatus": status, "ServicesLastAccessed": []}

    time = Clock()
    assert audit._advisor(Iam(["IN_PROGRESS", "COMPLETED"]), "arn:user", datetime.now(UTC), time.sleep) == ([], [])
    assert time.sleeps == [0, 1]
    with pytest.raises(audit.AccessAdvisorFailed, match="still IN_PROGRESS"):
        audit._advisor(Iam(["IN_PROGRESS"]), "arn:user", datetime.now(UTC), time.sleep)
