"""How many AWS requests each command makes: deploy, test, redeploy, status and delete of both endpoint types,
on the emulator.

Starts the local emulator in this process with its request log on, runs the real scripts as subprocesses
(as `make` runs them, with the execution role created first and not counted), and prints, per command, the
requests by operation, how many of them were the polls of a wait, and any resource read twice outside a
wait (the goal: none). Then it checks the goal the project holds itself to: no resource is described twice
by one command apart from the polls of a wait, and a model-based delete takes at most 12 requests plus its
polls. Exit code 1 when a goal is missed.

A poll is a Describe of a resource that repeats the request just before it (a wait's loop), or that follows
a Create/Update/Delete of that same resource (a wait starting). Counts of polls depend on timing; the other
counts do not.

    .venv/bin/python benchmarks/aws_calls.py [--skip-preflight]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from llm_engineering.local.request_log import RequestRecord
from llm_engineering.local.server import Emulator

REPO = Path(__file__).resolve().parent.parent
DELETE_BUDGET = 12
"""Requests a model-based delete may make besides its polls: 8 for the endpoint, its config and model (find,
read, delete), 2 DeleteSchedule for the time limit, and 2 to find the endpoint's invoke policy (the account
from STS, then IAM GetPolicy)."""
EMULATOR_OPTIONS = {"transition_seconds": 0.3, "token_delay_seconds": 0.0}
WRITES = ("Create", "Update", "Delete")


@dataclass
class Command:
    label: str
    records: list[RequestRecord] = field(default_factory=list)

    def polls(self) -> list[bool]:
        """For each request, whether it is the poll of a wait (see the module docstring)."""
        flags = []
        previous: RequestRecord | None = None
        for record in self.records:
            describe = record.operation.startswith("Describe") and bool(record.resource)
            repeat = previous is not None and (previous.operation, previous.resource) == (
                record.operation,
                record.resource,
            )
            after_write = (
                previous is not None
                and previous.operation.startswith(WRITES)
                and previous.resource == record.resource
                and previous.operation.removeprefix("Create").removeprefix("Update").removeprefix("Delete")
                == record.operation.removeprefix("Describe")
            )
            flags.append(describe and (repeat or after_write))
            previous = record
        return flags

    def repeated_reads(self) -> list[str]:
        """Resources described more than once outside the polls of a wait."""
        reads = Counter(
            (record.operation, record.resource)
            for record, poll in zip(self.records, self.polls(), strict=True)
            if not poll and record.operation.startswith(("Describe", "ListTags", "Get")) and record.resource
        )
        return [f"{operation} {resource} x{count}" for (operation, resource), count in reads.items() if count > 1]


class Recorder:
    """Collects the request log, split into commands."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: Command | None = None
        self.commands: list[Command] = []

    def __call__(self, record: RequestRecord) -> None:
        with self.lock:
            if self.current is not None:
                self.current.records.append(record)

    def start(self, label: str) -> None:
        with self.lock:
            self.current = Command(label)
            self.commands.append(self.current)

    def stop(self) -> None:
        with self.lock:
            self.current = None


def environment(url: str, home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "HF_", "HUGGING"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "LLM_ENGINEERING_ENV_FILE": str(home / "none.env"),
            "HF_HOME": str(home / "huggingface"),
            "HF_HUB_OFFLINE": "1",
            "WAIT_POLL_INTERVAL": "0.1",
        }
    )
    return env


def run(module: str, env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"llm_engineering.model.deploy.{module}", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{module} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def report(command: Command) -> list[str]:
    polls = command.polls()
    counts = Counter(
        f"{record.service} {record.operation}" for record, poll in zip(command.records, polls, strict=True) if not poll
    )
    polled = Counter(f"{record.operation}" for record, poll in zip(command.records, polls, strict=True) if poll)
    lines = [f"{command.label}: {len(command.records) - sum(polls)} requests + {sum(polls)} polls"]
    lines += [f"    {count:3d}  {name}" for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    lines += [f"    {count:3d}  {name} (polls)" for name, count in sorted(polled.items())]
    lines += [f"    read twice: {item}" for item in command.repeated_reads()]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--skip-preflight", action="store_true", help="deploy with --skip-preflight")
    args = parser.parse_args()
    recorder = Recorder()
    deploy_args = ["--yes", *(["--skip-preflight"] if args.skip_preflight else [])]
    with (
        tempfile.TemporaryDirectory(prefix="aws-calls-") as scratch,
        Emulator(config=EMULATOR_OPTIONS, request_log=recorder) as emulator,
    ):
        env = environment(emulator.url, Path(scratch))
        run("create_sagemaker_execution_role", env)
        for endpoint_type in ("model-based", "inference-component"):
            typed = {**env, "ENDPOINT_TYPE": endpoint_type}
            redeployed = {**typed, "HF_MODEL_ID": "Qwen/Qwen2.5-1.5B-Instruct"}
            for label, module, extra, variables in (
                ("deploy", "deploy", deploy_args, typed),
                ("test", "test", ["--prompt", "hi", "--no-stream"], typed),
                ("redeploy", "deploy", deploy_args, redeployed),
                ("status", "status", [], typed),
                ("delete", "delete", [], typed),
            ):
                recorder.start(f"{label} ({endpoint_type})")
                run(module, variables, *extra)
                recorder.stop()
    missed = []
    for command in recorder.commands:
        print("\n".join(report(command)))
        missed += [f"{command.label}: {item}" for item in command.repeated_reads()]
        if command.label == "delete (model-based)":
            requests = len(command.records) - sum(command.polls())
            if requests > DELETE_BUDGET:
                missed.append(f"{command.label}: {requests} requests besides polls, more than {DELETE_BUDGET}")
    print("goal met" if not missed else "goal missed:\n  " + "\n  ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
