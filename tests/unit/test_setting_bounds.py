"""Every numeric setting is bounded by what the API (or the engine) accepts, so a value AWS would refuse after
money is spent is one line here instead."""

from __future__ import annotations

import pytest

from llm_engineering.errors import ConfigurationError
from llm_engineering.settings import FLOAT_MAX, INT_MAX, TARGET_VALUE_MAX, load_settings

SCALING = {"ENDPOINT_TYPE": "inference-component", "AUTOSCALING_MIN_CAPACITY": "1", "AUTOSCALING_MAX_CAPACITY": "2"}


@pytest.mark.parametrize(
    ("setting", "value", "bound"),
    [
        ("AUTOSCALING_TARGET", "1e308", "2.34854e+108"),
        ("AUTOSCALING_TARGET", "3e108", "2.34854e+108"),
        ("GPU_INSTANCE_COUNT", str(INT_MAX + 1), str(INT_MAX)),
        ("COPY_COUNT", str(INT_MAX + 1), str(INT_MAX)),
        ("AUTOSCALING_MAX_CAPACITY", str(INT_MAX + 1), str(INT_MAX)),
        ("MAX_TOTAL_TOKENS", str(2**40), str(INT_MAX)),
        ("MAX_NEW_TOKENS_INFERENCE", str(2**40), str(INT_MAX)),
        ("TEMPERATURE_INFERENCE", "1e39", "3.40282e+38"),
        ("DEPLOY_TIMEOUT", "86401", "86400"),
        ("INFERENCE_REQUEST_TIMEOUT", "3601", "3600"),
    ],
)
def test_a_value_past_the_bound_is_one_line_naming_the_setting(monkeypatch, setting, value, bound) -> None:
    for name, other in SCALING.items():
        monkeypatch.setenv(name, other)
    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value) == (
        f"{setting}={value!r} is invalid: Input should be less than or equal to {bound}. "
        "Fix it in .env or the environment."
    )


def test_the_bounds_themselves_are_accepted(monkeypatch) -> None:
    for name, other in SCALING.items():
        monkeypatch.setenv(name, other)
    monkeypatch.setenv("AUTOSCALING_TARGET", repr(TARGET_VALUE_MAX))
    monkeypatch.setenv("TEMPERATURE_INFERENCE", repr(FLOAT_MAX))
    monkeypatch.setenv("GPU_INSTANCE_COUNT", str(INT_MAX))
    settings = load_settings()
    assert (settings.autoscaling_target, settings.temperature_inference) == (TARGET_VALUE_MAX, FLOAT_MAX)
    assert settings.gpu_instance_count == INT_MAX
