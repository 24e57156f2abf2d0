"""Fixtures of the emulator tests: boto3 clients on a freshly reset emulator whose transitions last until the
test moves its clock (`emulator_clients.wait_until`)."""

from __future__ import annotations

import pytest
from emulator_clients import Aws
from helpers import TRANSITION

from llm_engineering.local.server import configure


@pytest.fixture
def aws(aws_server: str, server_env: dict[str, str]) -> Aws:
    """Clients on a freshly reset emulator; Creating, Updating and Deleting last TRANSITION emulated seconds, so
    a state a test reads right after a request is still the one the request started."""
    configure(aws_server, transition_seconds=TRANSITION)
    return Aws.on(aws_server)
