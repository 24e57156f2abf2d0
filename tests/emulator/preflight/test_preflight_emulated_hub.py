"""`make preflight` with HF_ENDPOINT at the emulator's own Hub: every model row checked for the built-in
catalogue (the default model fits, the gated one needs a token, the 72B one cannot fit an A10G). The scripts run in
this process with the environment make gives them (`make preflight` itself runs in tests/e2e)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from helpers import ok, run_in_process

from llm_engineering.local.hub_catalogue import APPROVED_TOKEN
from llm_engineering.model.deploy import create_sagemaker_execution_role
from llm_engineering.model.deploy import preflight as preflight_script


@pytest.fixture
def preflight(server_env, capsys) -> Callable[..., dict[str, dict]]:
    """`make preflight ARGS=--json` with the given settings, the execution role in place, HF_ENDPOINT at the
    emulator's Hub: its rows by check."""
    ok(run_in_process(create_sagemaker_execution_role.main, server_env, capsys=capsys))
    server_env.pop("HF_HUB_OFFLINE")
    env = {**server_env, "HF_ENDPOINT": server_env["AWS_ENDPOINT_URL"] + "/_hub"}

    def rows(**settings: str) -> dict[str, dict]:
        done = run_in_process(preflight_script.main, {**env, **settings}, "--json", capsys=capsys)
        assert "Traceback" not in done.stderr, done.stderr
        return {check["check"]: check for check in json.loads(done.stdout)["checks"]}

    return rows


def test_the_default_model_is_checked_and_fits(preflight):
    rows = preflight()
    assert rows["Model access"]["status"] == "ok"
    assert rows["Model access"]["details"] == {
        "gated": None,
        "private": False,
        "readable": True,
        "pipeline_tag": "text-generation",
        "token_set": False,
    }
    assert rows["Memory fit"]["status"] == "ok"
    assert rows["Memory fit"]["details"]["parameters"] == 7_615_616_512
    assert rows["Memory fit"]["details"]["kv_bytes_per_token"] == 2 * 28 * 4 * 128 * 2
    assert "~39 tokens/s" in rows["Price"]["evidence"]


def test_the_gated_model_is_blocked_without_an_approved_token(preflight):
    model = {"HF_MODEL_ID": "meta-llama/Llama-3.1-8B-Instruct"}
    rows = preflight(**model)
    assert rows["Model access"]["status"] == "blocked"
    assert "gated (manual approval), no token is set" in rows["Model access"]["evidence"]
    assert rows["Memory fit"]["details"]["parameters"] == 8_030_261_248  # the counts are public

    approved = preflight(**model, HUGGINGFACE_ACCESS_TOKEN=APPROVED_TOKEN)
    assert approved["Model access"]["status"] == "ok"
    assert APPROVED_TOKEN not in json.dumps(approved)


def test_the_72b_model_does_not_fit_an_a10g(preflight):
    rows = preflight(HF_MODEL_ID="Qwen/Qwen2.5-72B-Instruct")
    assert rows["Model access"]["status"] == "ok"
    memory = rows["Memory fit"]
    assert memory["status"] == "blocked" and memory["details"]["verdict"] == "too-large"
    assert memory["details"]["parameters"] == 72_706_203_648
    assert "the weights do not fit" in memory["evidence"]
