"""`make benchmark` refuses an endpoint the emulator does not have, before it sends anything (the script in this
process, through the runner users get)."""

from __future__ import annotations

from helpers import run_main as invoke

from llm_engineering.model.deploy import benchmark


def test_an_endpoint_that_does_not_exist_is_refused_before_sending(server_env, monkeypatch, tmp_path, capsys):
    for key, value in {**server_env, "ENDPOINT_NAME": "nobody-here"}.items():
        monkeypatch.setenv(key, value)
    code, out, err = invoke(benchmark.main, "--out", str(tmp_path / "r"), capsys=capsys)
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Endpoint 'nobody-here' does not exist" in lines[0] and "Nothing was sent" in lines[0]
    assert out == ""
    assert not (tmp_path / "r.json").exists()
