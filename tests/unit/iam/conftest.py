"""Fixtures for the IAM scripts: an in-process IAM emulator and a way to run a script like `make` does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from llm_engineering.cli import run


@pytest.fixture
def iam(offline_env) -> Iterator[Any]:
    """An IAM client on an in-process emulator that the scripts under test also reach."""
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run a script's `main` through `llm_engineering.cli.run`, as `python -m` does: (exit code, out, err)."""

    def _run(main: Callable[[list[str]], int], *argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as stopped:
            run(lambda: main(list(argv)))
        captured = capsys.readouterr()
        return stopped.value.code, captured.out, captured.err

    return _run
