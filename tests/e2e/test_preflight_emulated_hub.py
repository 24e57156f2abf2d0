"""`make preflight` with HF_ENDPOINT at the emulator's own Hub: every model row checked for the built-in
catalogue (the default model fits, the gated one needs a token, the 72B one cannot fit an A10G)."""

from __future__ import annotations

import json

import pytest
from helpers import run_make

from llm_engineering.local.hub_catalogue import APPROVED_TOKEN

NO_REINSTALL = ("-o", ".venv/.installed")


@pytest.fixture
def env(server_env) -> dict[str, str]:
    done = run_make("create-sagemaker-execution-role", server_env, *NO_REINSTALL)
    assert done.returncode == 0, done.stderr
    server_env.pop("HF_HUB_OFFLINE")
    return {**server_env, "HF_ENDPOINT": server_env["AWS_ENDPOINT_URL"] + "/_hub"}


def preflight(env: dict[str, str], **settings: str) -> dict[str, dict]:
    done = run_make("preflight", {**env, **settings}, *NO_REINSTALL, "ARGS=--json")
    assert "Traceback" not in done.stderr, done.stderr
    return {check["check"]: check for check in json.loads(done.stdout)["checks"]}


def test_the_default_model_is_checked_and_fits(env):
    rows = preflight(env)
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


def test_the_gated_model_is_blocked_without_an_approved_token(env):
    model = {"HF_MODEL_ID": "meta-llama/Llama-3.1-8B-Instruct"}
    rows = preflight(env, **model)
    assert rows["Model access"]["status"] == "blocked"
    assert "gated (manual approval), no token is set" in rows["Model access"]["evidence"]
    assert rows["Memory fit"]["details"]["parameters"] == 8_030_261_248  # the counts are public

    approved = preflight(env, **model, HUGGINGFACE_ACCESS_TOKEN=APPROVED_TOKEN)
    assert approved["Model access"]["status"] == "ok"
    assert APPROVED_TOKEN not in json.dumps(approved)


def test_the_72b_model_does_not_fit_an_a10g(env):
    rows = preflight(env, HF_MODEL_ID="Qwen/Qwen2.5-72B-Instruct")
    assert rows["Model access"]["status"] == "ok"
    memory = rows["Memory fit"]
    assert memory["status"] == "blocked" and memory["details"]["verdict"] == "too-large"
    assert memory["details"]["parameters"] == 72_706_203_648
    assert "the weights do not fit" in memory["evidence"]
