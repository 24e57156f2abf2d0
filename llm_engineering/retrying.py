"""Trying again, driven by data: the one loop behind every wait on AWS.

An endpoint settling, a role IAM has not propagated yet, a new access key, an access-advisor job, a component
scaled to zero: each is the same loop. Try; when the answer is not yet the awaited one, or the refusal is one
worth another try, wait and try again, until the waits are spent or the deadline passes. Only data differs:
the waits (a `Backoff` or a fixed tuple), the deadline, which refusals to retry. The clock and the sleep are
data too, so that tests move time themselves instead of racing the wall clock.

Vocabulary floor: no AWS, no I/O of its own, so the light client path and the deploy side share it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Waits without end (the deadline ends them): `first`, then each `factor` times the one before, at most
    `ceiling` seconds. Polling soon after a change and less often while nothing happens."""

    first: float
    factor: float = 1.0
    ceiling: float = math.inf

    def __iter__(self) -> Iterator[float]:
        wait = self.first
        while True:
            yield wait
            wait = min(wait * self.factor, self.ceiling)


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """One try, as `Retry.until` reports it: its answer or the refusal worth retrying, and what follows."""

    number: int
    """1 for the first try."""
    elapsed: float
    """Seconds from the start of `until` to the end of this try."""
    value: T | None
    error: Exception | None
    """The refusal this try ended with (one `retry_on` accepts); None when it answered."""
    done: bool
    """The answer is the awaited one."""
    last: bool
    """No try follows: done, or the waits are spent, or the deadline has passed."""


class Exhausted(Exception):
    """Every try answered, none with the awaited answer: `last` is the final answer, for the caller's message."""

    def __init__(self, last: Any, elapsed: float, attempts: int) -> None:
        super().__init__(f"no awaited answer after {attempts} attempts in {elapsed:.0f} s")
        self.last, self.elapsed, self.attempts = last, elapsed, attempts


def _never(_error: Exception) -> bool:
    return False


def _always(_value: object) -> bool:
    return True


def of_type(*types: type[Exception]) -> Callable[[Exception], bool]:
    """`retry_on` for every refusal of these exception types."""
    return lambda error: isinstance(error, types)


@dataclass(frozen=True)
class Retry:
    """How to try again: the waits between tries, the deadline, which refusals are worth another try.

    `waits` is read afresh by each `until`: a tuple allows one try more than it has entries, a `Backoff` as
    many as the deadline leaves room for. `first_wait` is slept before the first try (None: try at once).
    """

    waits: Iterable[float]
    deadline: float | None = None
    """Seconds from the start after which no try begins; the wait before the last try is cut to end on it."""
    retry_on: Callable[[Exception], bool] = _never
    """Refusals worth another try; any other exception propagates at once (KeyboardInterrupt always does)."""
    first_wait: float | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def until(
        self,
        attempt: Callable[[], T],
        *,
        done: Callable[[T], bool] = _always,
        restart_on: Callable[[T], object] | None = None,
        on_attempt: Callable[[Attempt[T]], None] | None = None,
    ) -> T:
        """`attempt()` until it answers with `done(answer)`, and that answer.

        When the tries run out, a retried refusal is raised again (the last one), and an answer that is not
        done raises `Exhausted` with it. `restart_on(answer)` starts the waits over whenever its value changes
        (a status that moved: poll soon again). `on_attempt` sees every try, the last one included.
        """
        start = self.clock()
        if self.first_wait is not None:
            self.sleep(self.first_wait)
        waits = iter(self.waits)
        seen: object = _UNSEEN
        number = 0
        while True:
            number += 1
            value: T | None = None
            error: Exception | None = None
            try:
                value = attempt()
            except Exception as caught:
                if not self.retry_on(caught):
                    raise
                error = caught
            elapsed = self.clock() - start
            finished = error is None and done(value)
            wait: float | None = None
            if not finished:
                if restart_on is not None and error is None:
                    key = restart_on(value)
                    if key != seen:
                        waits, seen = iter(self.waits), key
                wait = next(waits, None)
                if wait is not None and self.deadline is not None:
                    wait = None if elapsed >= self.deadline else min(wait, self.deadline - elapsed)
            if on_attempt is not None:
                on_attempt(Attempt(number, elapsed, value, error, finished, finished or wait is None))
            if finished:
                return value
            if wait is None:
                if error is not None:
                    raise error
                raise Exhausted(value, elapsed, number)
            self.sleep(wait)


_UNSEEN = object()
"""What `restart_on` has seen before the first answer: equal to no value."""
