"""A negative duration is a bad duration like any other: one line naming the argument, exit 2, nothing created
(argparse alone would answer "expected one argument" for `--older-than -7d`)."""

from __future__ import annotations

import pytest

from llm_engineering.cli import run
from llm_engineering.durations import DURATION_RULE
from llm_engineering.model.deploy import cleanup, extend_ttl, metrics


@pytest.mark.parametrize(
    ("script", "argv", "shown"),
    [
        (cleanup, ["--older-than", "-7d"], "--older-than='-7d'"),
        (extend_ttl, ["--ttl", "-2h"], "TTL='-2h'"),
        (metrics, ["--since", "-30m"], "--since='-30m'"),
        (metrics, ["--since", "-1h30m"], "--since='-1h30m'"),
    ],
)
def test_a_negative_duration_is_one_line_and_exit_2(monkeypatch, capsys, script, argv, shown) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing may be asked of AWS
    with pytest.raises(SystemExit) as exited:
        run(lambda: script.main(argv))
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert err == f"error: {shown} is invalid: must be longer than zero (it counts from now).\n"


def test_other_bad_durations_keep_their_rule(monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        run(lambda: cleanup.main(["--older-than", "-7"]))
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"error: --older-than='-7' is invalid: {DURATION_RULE}.\n"
