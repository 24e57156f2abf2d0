"""What only a separate process shows: the light paths import neither the SDK nor the deploy side, the entry
points run their scripts, and bytes that are not UTF-8 reach no request."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from client_fakes import FakeSageMaker, chat_events, json_reply, payload_part, sse, stream_reply
from helpers import REPO, clean_environment

MODULE = "llm_engineering.model.deploy.test"


def _python(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`command` run as a separate process (the first item is the interpreter), bounded in time."""
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _events(events: list) -> list[bytes]:
    return [payload_part(sse(*events))]


def test_status_does_not_import_the_sagemaker_sdk():
    code = (
        "import sys, llm_engineering.model.deploy.status; "
        "print(sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


def test_the_handbooks_deploy_path_runs_the_deploy_script(offline_env):
    """`python llm_engineering/model/deploy/huggingface/run.py`, as the Handbook's Makefile runs the deploy step."""
    done = subprocess.run(
        [sys.executable, str(REPO / "llm_engineering/model/deploy/huggingface/run.py"), "--dry-run", "--bogus"],
        env=clean_environment(offline_env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: deploy: unrecognized arguments: --bogus (see --help).\n"


def test_the_client_path_still_imports_neither_boto3_nor_hosting():
    code = (
        "import sys, llm_engineering.model.deploy.test, llm_engineering.inference.warmup; "
        "print([m for m in sys.modules if m == 'boto3' or m.startswith('llm_engineering.hosting')])"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def test_invalid_utf8_on_stdin_and_in_argv_is_replaced_not_sent_as_surrogates(fake, offline_env: Path) -> None:
    fake.queue(
        stream_reply(_events(chat_events(["ok"]))),
        json_reply([{"generated_text": "ok", "details": {"generated_tokens": 1}}]),
    )
    env = {**clean_environment(offline_env), "AWS_ENDPOINT_URL": fake.url, "PYTHONIOENCODING": "utf-8:strict"}
    piped = subprocess.run([sys.executable, "-m", MODULE], input=b"hi \xff there\n", env=env, capture_output=True)
    assert (piped.returncode, piped.stdout) == (0, b"ok\n"), piped.stderr
    argv = subprocess.run(
        [sys.executable.encode(), b"-m", MODULE.encode(), b"--prompt", b"caf\xe9", b"--no-stream"],
        env=env,
        capture_output=True,
    )
    assert argv.returncode == 0, argv.stderr
    assert fake.requests[0].json()["messages"] == [{"role": "user", "content": "hi \ufffd there"}]
    assert fake.requests[1].json()["inputs"] == "caf\ufffd"
    assert b"\\udc" not in fake.requests[0].body + fake.requests[1].body


@pytest.mark.parametrize(
    "entry", [["-m", MODULE], [str(REPO / "test.py")]], ids=["module", "root shim (make test-inference)"]
)
def test_one_shot_from_a_separate_process(entry: list[str], fake: FakeSageMaker, offline_env: Path) -> None:
    fake.queue(json_reply([{"generated_text": "Hi there", "details": {"generated_tokens": 2}}]))
    env = clean_environment(offline_env)
    env["AWS_ENDPOINT_URL"] = fake.url
    done = _python([sys.executable, *entry, "--prompt", "Hi", "--no-stream"], env)
    assert (done.returncode, done.stdout) == (0, "Hi there\n")
    assert done.stderr.startswith("[2 tokens in ")


def test_client_path_builds_its_client_without_boto3(offline_env: Path) -> None:
    """botocore's own session: boto3's resource layer (and s3transfer) would cost every start ~30 ms."""
    probe = (
        "import sys\n"
        "from llm_engineering.settings import load_settings\n"
        "from llm_engineering.inference.client import InferenceClient\n"
        "client = InferenceClient.from_settings(load_settings())\n"
        "assert client.runtime.meta.service_model.service_name == 'sagemaker-runtime'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 's3transfer')))\n"
    )
    done = _python([sys.executable, "-c", probe], clean_environment(offline_env))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_client_path_never_imports_the_sdk_or_the_deploy_side(offline_env: Path) -> None:
    probe = (
        "import sys, json\n"
        f"import {MODULE}\n"
        "import llm_engineering.inference.client, llm_engineering.inference.chat\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith(('sagemaker.', "
        "'llm_engineering.', 'huggingface_hub')))))\n"
    )
    done = _python([sys.executable, "-c", probe], clean_environment(offline_env))
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "llm_engineering.inference.client" in loaded
    deploy_side = tuple(f"llm_engineering.{package}" for package in ("hosting", "iam", "preflight", "local"))
    assert [name for name in loaded if not name.startswith(("llm_engineering.", *deploy_side))] == []
    assert [name for name in loaded if name.startswith(deploy_side)] == []


def test_root_shim_reexecs_with_the_project_interpreter(offline_env: Path) -> None:
    base_python = getattr(sys, "_base_executable", None)
    if not base_python or base_python == sys.executable:
        pytest.skip("needs an interpreter outside the project's .venv")
    done = _python([base_python, str(REPO / "test.py"), "--help"], clean_environment(offline_env))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python test.py [-h] [--prompt PROMPT]")


def test_root_shim_without_install_says_what_to_run(offline_env: Path, tmp_path: Path) -> None:
    copy = tmp_path / "checkout"
    copy.mkdir()
    shutil.copy(REPO / "test.py", copy / "test.py")
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    done = _python([base_python, str(copy / "test.py")], clean_environment(offline_env))
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: the project is not installed: run `make install`, then `python test.py`.\n",
    )
