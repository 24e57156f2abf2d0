"""The emulated clock: `/_emulator/clock` skips time ahead, and what waits on time happens at once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pytest
from emulator_clients import Aws

from llm_engineering.local.server import advance_clock, configure


def clock_of(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/_emulator/clock") as answer:
        return json.loads(answer.read())


def test_advancing_the_clock_moves_the_emulated_time(aws: Aws) -> None:
    before = datetime.fromisoformat(str(clock_of(aws.url)["now"]))
    answer = advance_clock(aws.url, 7200)

    assert answer["skipped_seconds"] == 7200
    assert datetime.fromisoformat(str(answer["now"])) - before >= timedelta(hours=2)


def test_a_transition_completes_when_the_clock_passes_it(aws: Aws) -> None:
    configure(aws.url, transition_seconds=3600)
    aws.create_model()
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    assert aws.endpoint_status("endpoint") == "Creating"

    advance_clock(aws.url, 3601)

    assert aws.endpoint_status("endpoint") == "InService"


def test_reset_returns_to_real_time(aws: Aws) -> None:
    advance_clock(aws.url, 86400)
    urllib.request.urlopen(urllib.request.Request(f"{aws.url}/moto-api/reset", method="POST")).close()

    assert clock_of(aws.url)["skipped_seconds"] == 0


@pytest.mark.parametrize("body", [b'{"advance": -1}', b'{"advance": "1h"}', b"[1]", b"not json", b'{"advance": true}'])
def test_the_clock_refuses_to_go_back_or_to_guess(aws: Aws, body: bytes) -> None:
    request = urllib.request.Request(f"{aws.url}/_emulator/clock", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)

    assert refused.value.code == 400
    assert (
        json.loads(refused.value.read())["error"]
        == 'POST {"advance": <seconds, 0 or more>} to move the emulated clock.'
    )
