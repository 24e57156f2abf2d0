"""The emulator's step adjustments follow the StepAdjustment page's bound rules (Application Auto Scaling API
Reference): above the breach threshold the lower bound is inclusive and the upper exclusive, otherwise the
lower exclusive and the upper inclusive; a missing bound is infinity; no match, no scaling."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from llm_engineering.local.autoscaling import matching_step

WAKE = [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
IDLE = [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 0}]


def alarm(threshold: float, operator: str) -> SimpleNamespace:
    return SimpleNamespace(threshold=threshold, comparison_operator=operator)


def test_one_no_capacity_failure_at_threshold_one_matches_the_wake_step():
    assert matching_step(WAKE, 1.0, alarm(1.0, "GreaterThanOrEqualToThreshold")) == WAKE[0]


@pytest.mark.parametrize("value", [0.0, None])
def test_the_idle_step_matches_neither_zero_invocations_nor_missing_data(value):
    assert matching_step(IDLE, value, alarm(0.0, "LessThanOrEqualToThreshold")) is None


def test_below_the_threshold_the_upper_bound_is_inclusive_and_the_lower_exclusive():
    steps = [
        {"MetricIntervalLowerBound": -10, "MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
        {"MetricIntervalUpperBound": -10, "ScalingAdjustment": -2},
    ]
    low = alarm(50.0, "LessThanThreshold")
    assert matching_step(steps, 45.0, low) == steps[0]
    assert matching_step(steps, 40.0, low) == steps[1]  # -10: in (-inf, -10], not in (-10, 0]
    assert matching_step(steps, 30.0, low) == steps[1]


def test_above_the_threshold_the_lower_bound_is_inclusive_and_the_upper_exclusive():
    steps = [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2},
    ]
    high = alarm(50.0, "GreaterThanThreshold")
    assert matching_step(steps, 55.0, high) == steps[0]
    assert matching_step(steps, 60.0, high) == steps[1]  # +10: in [10, inf), not in [0, 10)
