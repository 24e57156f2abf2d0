"""Durations people type: `90s`, `30m`, `4h`, `2d`, `1w` (and combinations such as `1h30m`).

One rule and one message for every place a duration comes from (a setting such as ENDPOINT_TTL, an
argument such as `--since` or `--older-than`), and one way back to text for plans and status lines.
A bare number is refused: minutes and seconds are both plausible, and guessing wrong costs money.
"""

from __future__ import annotations

import re
from datetime import timedelta

from llm_engineering.errors import ConfigurationError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?[smhdw])+$")
DURATION_RULE = "must be a duration such as 90s, 30m, 4h, 2d or 1h30m (s, m, h, d, w; no bare numbers)"


def duration(value: str) -> timedelta:
    """`value` as a timedelta, else ValueError with the rule (for pydantic validators and argparse types)."""
    text = value.strip().lower().replace(" ", "")
    if text.startswith("-") and _WHOLE.match(text[1:]):
        raise ValueError("must be longer than zero (it counts from now)")
    if not _WHOLE.match(text):
        raise ValueError(DURATION_RULE)
    seconds = sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return timedelta(seconds=seconds)


def check_duration(value: str, source: str) -> timedelta:
    """`duration` for a value from `source` (a setting or an argument), as a one-line ConfigurationError."""
    try:
        return duration(value)
    except ValueError as error:
        raise ConfigurationError(f"{source}={value!r} is invalid: {error}.") from None


def describe(span: timedelta) -> str:
    """A short human form, largest units first: `1d 2h`, `45m`, `30s` (at most two units)."""
    seconds = round(span.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2])
