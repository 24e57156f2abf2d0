"""The Makefile as an attacker or a careless user drives it: values are data, never shell or make code.

Every payload below would run `touch <canary>` if a recipe pasted the value into its shell line (or make
expanded `$(...)` inside it). The canary must never appear, and the values must reach the scripts intact.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from client_fakes import FakeSageMaker, generate_events, payload_part, sse, stream_reply
from helpers import REPO, clean_environment, run_make

from llm_engineering.local.make_environment import user_variables

NO_REINSTALL = ("-o", ".venv/.installed", "-o", ".venv/.compiled")
PAYLOADS = {
    "double quote": 'x"; touch {canary}; echo "',
    "backticks": "x`touch {canary}`y",
    "command substitution": "x$(touch {canary})y",
    "semicolon": "x; touch {canary}",
    "newline": "x\ntouch {canary}",
}


@pytest.fixture(params=list(PAYLOADS))
def payload(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    canary = tmp_path / "canary"
    return PAYLOADS[request.param].format(canary=canary), canary


def make(target: str, env: dict[str, str], *assignments: str):
    return run_make(target, env, *NO_REINSTALL, *assignments, timeout=60)


def test_recipes_never_paste_a_user_variable_or_a_variable_users_can_override():
    """Static: a recipe reads a user's value only as "$$NAME"; every make variable it expands is `override`."""
    text = (REPO / "Makefile").read_text()
    users = user_variables()
    assert {"ARGS", "PROMPT", "ENDPOINT_NAME", "DEPLOY_ARGS", "TEST_ARGS", "ROLE_ARGS", "DELETE_ARGS"} <= users
    overridden = set(re.findall(r"^override (\w+) :?=", text, re.MULTILINE))
    builtin = {"MAKE", "MAKEFILE_LIST", "call", "if", "shell"}
    expanding = [line for line in text.splitlines() if line.startswith("\t") or line.startswith("override ")]
    for line in expanding:
        for name in re.findall(r"(?<!\$)\$[({](\w+)", line):
            assert name not in users, f"{name} is pasted into: {line!r}"
            assert name in overridden | builtin | {"1"}, f"{name} can be overridden by users in: {line!r}"
        for name in re.findall(r'"\$\$(\w+)"', line):
            assert name in users or name == "status", line


def test_arguments_and_endpoint_names_are_data(payload, offline_env):
    value, canary = payload
    env = clean_environment(offline_env)
    status = make("status", env, f"ARGS={value}")
    deleted = make("delete-inference-endpoint", env, f"ENDPOINT_NAME={value}")
    overridden = make("status", env, f"DEPLOY=touch {canary};", "AWS_REGION=mars;1")  # the tool's own variables
    assert not canary.exists()
    assert status.returncode == 2 and "error: status: unrecognized arguments: x" in status.stderr
    assert deleted.returncode == 2 and "error: ENDPOINT_NAME='x" in deleted.stderr
    assert "is invalid: must be 1-63 letters, digits or hyphens" in deleted.stderr
    assert overridden.returncode == 2 and "error: AWS_REGION='mars;1' is not an AWS region" in overridden.stderr


def test_the_prompt_reaches_the_endpoint_exactly_as_typed(payload, offline_env):
    value, canary = payload
    fake = FakeSageMaker().start()
    try:
        fake.queue(stream_reply([payload_part(sse(*generate_events(["ok"])))]))
        env = {**clean_environment(offline_env), "AWS_ENDPOINT_URL": fake.url}
        done = make("test-inference", env, f"PROMPT={value}")
    finally:
        fake.stop()
    assert not canary.exists()
    assert done.returncode == 0, done.stderr
    assert fake.requests[0].json()["inputs"] == value


def test_workflow_step_arguments_are_data(payload, offline_env):
    """`make -n` still runs the workflow's own line (it calls $(MAKE)); the steps only print their commands."""
    value, canary = payload
    steps = [f"{name}={value}" for name in ("ROLE_ARGS", "DEPLOY_ARGS", "TEST_ARGS", "DELETE_ARGS")]
    done = run_make("workflow", clean_environment(offline_env), "-n", *NO_REINSTALL, *steps, timeout=60)
    assert not canary.exists()
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('LLM_ENGINEERING_ARGS="$ARGS"') == 4


def test_python_is_run_as_one_word(payload, offline_env):
    value, canary = payload
    done = run_make(".tools/poetry/bin/poetry", clean_environment(offline_env), "-B", f"PYTHON={value}", timeout=60)
    assert not canary.exists()
    assert done.returncode == 2 and "error: Python 3.11 or newer is needed as 'x" in done.stderr


def test_arguments_keep_shell_quoting_and_refuse_an_open_quote(offline_env):
    env = clean_environment(offline_env)
    quoted = make("status", env, "ARGS=--bogus 'two words'")
    assert "unrecognized arguments: --bogus two words (see --help)" in quoted.stderr
    unclosed = make("status", env, "ARGS=--bogus 'open")
    assert unclosed.returncode == 2
    assert unclosed.stderr.startswith('error: ARGS="--bogus \'open" cannot be split into arguments (No closing')


def test_workflow_refuses_args_and_names_the_step_variables(offline_env):
    done = make("workflow", clean_environment(offline_env), "ARGS=--yes")
    assert done.returncode == 2
    assert "error: make workflow does not take ARGS" in done.stderr and "DEPLOY_ARGS=--yes" in done.stderr
    assert "create_sagemaker_execution_role" not in done.stdout + done.stderr


def test_workflow_gives_each_step_its_own_arguments_and_always_deletes(server_env):
    env = {**server_env, "WAIT_POLL_INTERVAL": "0.1"}
    done = make("workflow", env, "DEPLOY_ARGS=--yes --skip-preflight", "TEST_ARGS=--json --no-stream")
    assert done.returncode == 0, done.stderr
    assert '"answer": "[emulated Qwen/Qwen2.5-7B-Instruct]' in done.stdout
    assert "Deleted 3 resource(s) of llm-engineering-endpoint" in done.stdout
    failed = make("workflow", env, "DEPLOY_ARGS=--bogus")
    assert failed.returncode == 2
    assert "error: deploy: unrecognized arguments: --bogus (see --help)." in failed.stderr
    assert "Nothing to delete: no endpoint llm-engineering-endpoint" in failed.stdout  # the delete step ran


def test_an_outer_make_does_not_leak_its_variables_into_nested_runs(aws_server, offline_env, monkeypatch):
    """`make test ARGS=-x` exports ARGS and puts it in MAKEFLAGS; the end-to-end tests' make must not see it."""
    monkeypatch.setenv("ARGS", "--no-such-option")
    monkeypatch.setenv("MAKEFLAGS", " -- ARGS=--no-such-option")
    monkeypatch.setenv("PROMPT", "leaked")
    monkeypatch.setenv("ENDPOINT_NAME", "leaked")
    env = {**clean_environment(offline_env), "AWS_ENDPOINT_URL": aws_server}
    assert not {"ARGS", "MAKEFLAGS", "PROMPT", "ENDPOINT_NAME"} & set(env)
    done = make("status", env)
    assert done.returncode == 0, done.stderr
