"""A bad configuration of the emulator command (flags, file): one line and exit 2, its main run in this process
through the runner users get (the command itself runs in tests/e2e/test_emulator_server.py)."""

from __future__ import annotations

import pytest
from helpers import run_main as invoke

from llm_engineering.local import __main__ as command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--throttle-rate", "2"],
            "error: Emulator configuration throttle_rate=2.0 is invalid: Input should be less than or equal to 1. "
            "Allowed keys: ",
        ),
        (
            ["--fail-health", "endpoint=boom"],
            "error: Emulator configuration health_check_failures.endpoint='boom' is invalid: "
            "Input should be 'oom', 'gated', 'timeout', 'kv-cache' or 'unsupported-model'. Allowed keys: ",
        ),
        (["--config", "missing.json"], "error: Cannot read the emulator configuration missing.json (No such file"),
    ],
)
def test_a_bad_configuration_is_one_line_and_exit_2(capsys, args: list[str], message: str) -> None:
    code, out, err = invoke(command.main, *args, capsys=capsys)

    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert len(err.splitlines()) == 1
