"""Fixtures for the IAM scripts: IAM on the in-process moto, and the one script runner (`helpers.run_main`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import helpers
import pytest


@pytest.fixture
def iam(moto_aws) -> Any:
    """An IAM client on the in-process moto that the scripts under test also reach."""
    return boto3.client("iam", region_name="us-east-1")


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run a script's `main` through `llm_engineering.cli.run`, as `python -m` does: (exit code, out, err)."""
    return lambda main, *argv: helpers.run_main(main, *argv, capsys=capsys)
