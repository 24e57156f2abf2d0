"""The emulator's target tracking: a component's copies follow its invocations per copy, out in proportion
after 3 busy minutes and in after 15 quiet ones, within the range and the cooldowns."""

from __future__ import annotations

import json

import boto3
from test_scale_to_zero_cycle import COMPONENT, ENDPOINT, copies

from llm_engineering.local.server import advance_clock

TRACKED = {
    "endpoint_type": "inference-component",
    "autoscaling_min_capacity": 1,
    "autoscaling_max_capacity": 3,
    "autoscaling_target": 4,  # invocations per copy per minute
    "scale_out_cooldown": 60,
    "scale_in_cooldown": 300,
}


def _minute_of(emulator: str, requests: int) -> None:
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    body = json.dumps({"inputs": "Hello", "parameters": {"max_new_tokens": 2}})
    for _ in range(requests):
        runtime.invoke_endpoint(
            EndpointName=ENDPOINT, InferenceComponentName=COMPONENT, ContentType="application/json", Body=body
        )
    advance_clock(emulator, 60)


def test_copies_follow_the_invocations_out_and_back_in(emulator, deploy):
    deploy(**TRACKED)
    assert copies() == (1, 1)

    _minute_of(emulator, 10)
    _minute_of(emulator, 10)
    assert copies() == (1, 1)  # two busy minutes are not enough
    _minute_of(emulator, 10)
    # 10 a minute on one copy against a target of 4: ceil(1 x 10 / 4) = 3 copies, the range's maximum
    assert copies() == (3, 1)
    advance_clock(emulator, 1)  # the new copies start (the emulator's start-up time)
    assert copies() == (3, 3)

    for _ in range(14):
        advance_clock(emulator, 60)
    assert copies() == (3, 3)  # fewer than 15 quiet minutes (the last busy one is still among them)
    advance_clock(emulator, 120)
    assert copies() == (1, 1)  # quiet: in to the minimum, never to zero (that is the step policies' work)


def test_a_quiet_component_within_its_range_stays_as_it_is(emulator, deploy):
    deploy(**TRACKED)

    _minute_of(emulator, 3)  # under the target: nothing to add, and already at the minimum
    advance_clock(emulator, 20 * 60)

    assert copies() == (1, 1)


def test_copies_follow_the_requests_in_flight_with_the_concurrency_metric(emulator, deploy):
    deploy(**{**TRACKED, "autoscaling_metric": "concurrency", "autoscaling_target": 0.5})

    for _ in range(3):
        _minute_of(emulator, 2)  # one request in flight at a time: 1 per copy against a target of 0.5

    assert copies() == (2, 1)  # ceil(1 x 1 / 0.5)
