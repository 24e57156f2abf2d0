"""Helpers shared by tests: a clean environment, free ports, and running Make targets and scripts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llm_engineering.local.make_environment import nested_make_environment
from llm_engineering.settings import setting_names

REPO = Path(__file__).resolve().parents[2]

# Variables that could point a test at a real account, a real token or the developer's own setup.
_LEAKY_PREFIXES = ("AWS_", "HF_", "HUGGING", "SAGEMAKER_", "LLM_ENGINEERING_")
# Every name a setting is read under (ENDPOINT_NAME included), and PYTEST_ADDOPTS, which `make test ARGS=...` sets.
_SETTINGS_NAMES = {*setting_names(), "PYTEST_ADDOPTS", "ENV"}  # ENV=prod selects .env.prod


def clean_environment(home: Path) -> dict[str, str]:
    """The process environment minus anything AWS/HF/settings related, plus dummy credentials."""
    # make's own state and the Makefile's user variables (ARGS, PROMPT, ...): under `make test ARGS=...` they
    # would otherwise reach every nested make of the end-to-end tests.
    env = {
        key: value
        for key, value in nested_make_environment(os.environ).items()
        if not key.startswith(_LEAKY_PREFIXES) and key.upper() not in _SETTINGS_NAMES
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "AWS_CA_BUNDLE": os.environ.get("AWS_CA_BUNDLE", ""),
            "HF_HOME": str(home / "hf"),
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            # Never read the developer's own .env: the Make targets run in the repository.
            "LLM_ENGINEERING_ENV_FILE": str(home / "no.env"),
        }
    )
    if not env["AWS_CA_BUNDLE"]:
        del env["AWS_CA_BUNDLE"]
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_make(target: str, env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `make <target>` in the repository as a user would, capturing output."""
    return subprocess.run(
        ["make", "-s", "-C", str(REPO), target, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_script(module: str, env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m <module>` with the test interpreter, as the Make targets do."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def watch(
    command: list[str], env: dict[str, str], on_line: Callable[[str, subprocess.Popen[str]], bool], errors: Any
) -> tuple[subprocess.Popen[str], str]:
    """Run `command` in the repository; call `on_line(line, process)` for each line it prints until that returns
    True (the test acts on what the command says, never on how long it ran); return the finished process and its
    whole stdout. stderr goes to `errors`, a file: nothing can block on a full pipe."""
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
    watchdog = threading.Timer(120, process.kill)  # a broken command must fail the test, not hang the suite
    watchdog.start()
    seen: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if on_line(line, process):
                break
        rest, _ = process.communicate(timeout=120)
    finally:
        watchdog.cancel()
    return process, "".join(seen) + (rest or "")


TRANSITION = 600.0
"""Emulated seconds a Creating, Updating, Deleting or injected state lasts in the tests that drive the clock."""


class EmulatedClock:
    """Waits that move the emulator's clock instead of sleeping: `poller()` observes, then skips `step` seconds
    of emulated time, so every state lasting longer than a step is seen however slow the machine is, and no
    test waits in real time for a transition. `drive(monkeypatch, *scripts)` gives scripts such pollers."""

    def __init__(self, url: str, step: float = 60.0) -> None:
        self.url = url
        self.step = step
        self.skipped = 0.0

    def advance(self, seconds: float) -> None:
        from llm_engineering.local.server import advance_clock

        advance_clock(self.url, seconds)
        self.skipped += seconds

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def poller(self, *_args: Any, **_kwargs: Any) -> Any:
        """A poller of the tool's that sleeps in emulated time (any arguments, as a script's `Poller(...)`)."""
        from llm_engineering.resources.waiting import Poller

        return Poller(first=self.step, factor=1.0, ceiling=self.step, sleep=self.advance, clock=self.monotonic)

    def drive(self, monkeypatch: Any, *scripts: Any) -> None:
        """The `Poller` of each script module waits in emulated time."""
        for script in scripts:
            monkeypatch.setattr(script, "Poller", self.poller)


def client(env: dict[str, str], service: str = "sagemaker", region: str = "us-east-1") -> Any:
    """A boto3 client on the emulator a test's environment points at."""
    import boto3

    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=region)


def no_traceback_of_ours(text: str) -> None:
    """Container log lines (shown as `  | ...`) may quote a traceback; the tool itself never prints one."""
    assert not [line for line in text.splitlines() if "Traceback" in line and "  | " not in line], text


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """A command that succeeded without a traceback of the tool's."""
    assert result.returncode == 0, result.stdout + result.stderr
    no_traceback_of_ours(result.stdout + result.stderr)
    return result


def run_main(main: Callable[..., int], *args: str, capsys: Any) -> tuple[int, str, str]:
    """Run a script's main through the runner users get (`cli.run`): (exit code, stdout, stderr)."""
    import pytest

    from llm_engineering.cli import run

    argv = sys.argv
    sys.argv = ["script", *args]
    try:
        with pytest.raises(SystemExit) as exited:
            run(main)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def run_in_process(main: Callable[..., int], env: dict[str, str], *args: str, capsys: Any) -> Any:
    """A script's `main` in this process as `python -m` runs it with the environment `env` (the Hub too: its
    HF_ENDPOINT and HF_HUB_OFFLINE), through the runner users get: a CompletedProcess, for `ok()` and the rest.
    The import of the script is paid once per worker instead of once per run."""
    import huggingface_hub.constants as hub
    import pytest

    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key not in env:
                patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        if env.get("HF_ENDPOINT"):
            url = env["HF_ENDPOINT"]
            patch.setattr(hub, "ENDPOINT", url)
            patch.setattr(hub, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
        patch.setattr(hub, "HF_HUB_OFFLINE", env.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"})
        code, out, err = run_main(main, *args, capsys=capsys)
    return subprocess.CompletedProcess([main.__module__, *args], code, out, err)


MAKEFILE_PROMPT = "What is the capital of France? Answer in one sentence."
"""The Makefile's PROMPT, which `make test-inference` passes as --prompt."""


def make_in_process(target: str, env: dict[str, str], *assignments: str, capsys: Any) -> Any:
    """`make <target> ARGS=...` as the target's script in this process: the arguments the recipe passes, then
    the words of ARGS (the targets' own wiring is tested in tests/e2e). A CompletedProcess, as `run_make`."""
    import shlex

    from llm_engineering.model.deploy import create_sagemaker_execution_role, delete, deploy, stage_model, status, test

    targets: dict[str, tuple[Callable[..., int], list[str]]] = {
        "create-sagemaker-execution-role": (create_sagemaker_execution_role.main, []),
        "deploy-inference-endpoint": (deploy.main, []),
        "test-inference": (test.main, ["--prompt", MAKEFILE_PROMPT]),
        "status": (status.main, []),
        "delete-inference-endpoint": (delete.main, []),
        "stage-model": (stage_model.main, []),
    }
    main, arguments = targets[target]
    words = [word for item in assignments for word in shlex.split(item.removeprefix("ARGS="))]
    return run_in_process(main, env, *arguments, *words, capsys=capsys)


def create_execution_role(env: dict[str, str], capsys: Any) -> None:
    """The execution role in place, as `make create-sagemaker-execution-role` leaves it: its script in this
    process (the target's own run is tests/e2e/test_iam_make_targets.py's)."""
    from llm_engineering.model.deploy import create_sagemaker_execution_role

    ok(run_in_process(create_sagemaker_execution_role.main, env, capsys=capsys))


def nothing_in_sagemaker(region: str = "us-east-1") -> bool:
    """No endpoint, endpoint config or model in the region (what bad input must leave)."""
    import boto3

    client = boto3.client("sagemaker", region_name=region)
    return not (
        client.list_endpoints()["Endpoints"]
        or client.list_endpoint_configs()["EndpointConfigs"]
        or client.list_models()["Models"]
    )


IMAGE_PULL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            "Resource": "*",
        }
    ],
}
"""What a test's bare execution role needs for the emulated SageMaker to pull any image."""
