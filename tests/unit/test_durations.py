"""Durations: one parser and one message for TTLs, metric windows and ages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from llm_engineering.durations import check_duration, describe, duration
from llm_engineering.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("4h", 14400), ("2d", 172800), ("1w", 604800), ("1h30m", 5400), (" 1.5H ", 5400)],
)
def test_durations_in_every_unit(text: str, seconds: int) -> None:
    assert duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "4", "4 hours", "h", "-1h", "1h-30m", "4y", "0m"])
def test_what_is_not_a_duration_is_refused_with_the_rule(text: str) -> None:
    with pytest.raises(ValueError):
        duration(text)


def test_the_message_names_the_source_and_the_rule() -> None:
    with pytest.raises(ConfigurationError) as refused:
        check_duration("4", "ENDPOINT_TTL")

    assert str(refused.value) == (
        "ENDPOINT_TTL='4' is invalid: must be a duration such as 90s, 30m, 4h, 2d or 1h30m (s, m, h, d, w; "
        "no bare numbers)."
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5s"), (2700, "45m"), (5400, "1h 30m"), (93784, "1d 2h"), (172800, "2d")]
)
def test_spans_read_back_in_at_most_two_units(seconds: int, text: str) -> None:
    assert describe(timedelta(seconds=seconds)) == text
