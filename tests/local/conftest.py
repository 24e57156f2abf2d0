"""Fixtures of the emulator tests: boto3 clients on a freshly reset emulator."""

from __future__ import annotations

import pytest
from emulator_clients import Aws


@pytest.fixture
def aws(aws_server: str, server_env: dict[str, str]) -> Aws:
    """Clients on a freshly reset emulator."""
    partial = Aws(aws_server, None, None, None, None)
    return Aws(
        aws_server,
        partial.client("sagemaker"),
        partial.client("sagemaker-runtime"),
        partial.client("logs"),
        partial.client("service-quotas"),
    )
