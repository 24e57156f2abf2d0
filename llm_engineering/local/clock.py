"""The emulator's clock: real time plus an offset that tests and the demo move forward.

Everything in the emulator that waits on time (state transitions, schedules that come due, idle periods
before a scale-in) reads this clock, never `time` directly, so `POST /_emulator/clock {"advance": 3600}`
makes an hour pass at once. After an advance, and about once a second in any case, the server runs every
registered ticker (under its request lock) so that what came due happens without waiting for a request.
"""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime

Ticker = Callable[[], None]

_lock = threading.Lock()
_offset = 0.0
_tickers: list[Ticker] = []


def time() -> float:
    """Seconds since the epoch, as the emulated AWS sees them."""
    return _time.time() + _offset


def monotonic() -> float:
    """A monotonic reading that moves with `advance` (for deadlines inside the emulator)."""
    return _time.monotonic() + _offset


def now() -> datetime:
    """The emulated time as an aware UTC datetime."""
    return datetime.fromtimestamp(time(), tz=UTC)


def skipped() -> float:
    """How many seconds `advance` has skipped since the last reset."""
    return _offset


def advance(seconds: float) -> float:
    """Move the clock forward (never back: AWS's clocks do not run backwards); returns the new offset."""
    global _offset
    if seconds < 0:
        raise ValueError("The emulator's clock only moves forward: advance by zero seconds or more.")
    with _lock:
        _offset += seconds
        return _offset


def reset() -> None:
    """Back to real time (the emulator's reset)."""
    global _offset
    with _lock:
        _offset = 0.0


def register(ticker: Ticker) -> Ticker:
    """Run `ticker` after every advance and about once a second; usable as a decorator."""
    if ticker not in _tickers:
        _tickers.append(ticker)
    return ticker


def tick() -> None:
    """Run every ticker once (the caller holds the server's request lock)."""
    for ticker in list(_tickers):
        ticker()
