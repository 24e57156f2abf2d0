"""Polling with a short, adaptive interval and live progress.

boto3's waiters poll every 30 s, which turns a 20-second transition into a minute of staring. This polls
soon after a change, backs off while nothing happens, and reports each observation so the script can draw
a progress line. Ctrl-C (KeyboardInterrupt) passes through untouched: the caller decides what to say.
Every long operation (apply, delete) reports through one `Reporter`: steps as lines, waits as progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from llm_engineering.errors import UserFacingError
from llm_engineering.retrying import Attempt, Backoff, Exhausted, Retry

State = TypeVar("State")


@dataclass(frozen=True)
class Progress:
    """One observation while waiting: what is awaited, its status, and for how long we have waited."""

    subject: str
    status: str
    elapsed: float
    done: bool = False


ProgressCallback = Callable[[Progress], None]


class Reporter(Protocol):
    """Where the library reports what it does; the script draws it (`llm_engineering.console`)."""

    def step(self, text: str) -> None: ...

    def progress(self, progress: Progress) -> None: ...

    def finish(self) -> None:
        """End any live line, before the caller prints its own."""


class _Silent:
    def step(self, text: str) -> None:
        pass

    def progress(self, progress: Progress) -> None:
        pass

    def finish(self) -> None:
        pass


silent: Reporter = _Silent()
"""A reporter that reports nothing (library callers that only want the result)."""


class WaitTimeout(UserFacingError):
    """The resource did not settle within the allowed time; it still exists and may still be billing."""

    def __init__(self, subject: str, status: str, elapsed: float) -> None:
        super().__init__(f"{subject} is still {status} after {elapsed:.0f} s")
        self.subject = subject
        self.status = status
        self.elapsed = elapsed


@dataclass(frozen=True)
class Poller:
    """How to wait for a resource: first interval, growth factor and ceiling (seconds), as a `retrying.Backoff`
    that starts over whenever the status changes; clock and sleep for tests."""

    first: float = 2.0
    factor: float = 1.5
    ceiling: float = 15.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def until(
        self,
        observe: Callable[[], State],
        status_of: Callable[[State], str],
        settled: Callable[[State], bool],
        *,
        subject: str,
        timeout: float,
        on_progress: ProgressCallback | None = None,
    ) -> State:
        """Observe until `settled(state)`; raise `WaitTimeout` after `timeout` seconds."""
        retry = Retry(
            Backoff(self.first, self.factor, self.ceiling), deadline=timeout, sleep=self.sleep, clock=self.clock
        )

        def report(attempt: Attempt[State]) -> None:
            if on_progress:
                on_progress(Progress(subject, status_of(attempt.value), attempt.elapsed, attempt.done))

        try:
            return retry.until(observe, done=settled, restart_on=status_of, on_attempt=report)
        except Exhausted as gave_up:
            raise WaitTimeout(subject, status_of(gave_up.last), gave_up.elapsed) from None
