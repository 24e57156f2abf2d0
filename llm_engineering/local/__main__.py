"""`python -m llm_engineering.local`: run the local AWS emulator in the foreground.

Prints the environment that points boto3 (and so every script of this tool) at it, as `export` lines;
`--env-file` also writes them to a file once the server listens, so a Makefile recipe can start the
emulator in the background and wait for that file. SIGTERM or SIGINT stops it cleanly. `--log-requests` prints
one line per AWS request (service, operation, resource, status code, milliseconds): what the tool did.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

from llm_engineering.cli import echo, run, script_arguments
from llm_engineering.local.faults import EmulatorConfig, EmulatorConfigError, load_config
from llm_engineering.local.hub import PREFIX as HUB_PREFIX
from llm_engineering.local.request_log import RequestRecord
from llm_engineering.local.server import Emulator

DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"  # the emulator accepts any credentials
DEFAULT_REGION = "us-east-1"


def environment_lines(url: str, region: str) -> list[str]:
    """The `export` lines that point the AWS SDKs (and huggingface_hub, at the emulated Hub) at `url`."""
    return [
        f"export AWS_ENDPOINT_URL={url}",
        f"export AWS_ACCESS_KEY_ID={DUMMY_ACCESS_KEY_ID}",
        f"export AWS_SECRET_ACCESS_KEY={DUMMY_SECRET_ACCESS_KEY}",
        f"export AWS_REGION={region}",
        f"export HF_ENDPOINT={url}{HUB_PREFIX}",
    ]


def _pair(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name or not value:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m llm_engineering.local",
        description="Run the local AWS emulator (moto + SageMaker hosting, runtime and quotas) in the foreground.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--region", default=DEFAULT_REGION, help="AWS_REGION to print (default: us-east-1)")
    parser.add_argument("--config", type=Path, help="JSON file of emulator options (see faults.EmulatorConfig)")
    parser.add_argument("--env-file", type=Path, help="also write the export lines to this file once listening")
    parser.add_argument("--transition-seconds", type=float, help="seconds in Creating/Updating/Deleting")
    parser.add_argument("--token-delay", type=float, help="seconds before each streamed token")
    parser.add_argument(
        "--timing-model",
        action="store_true",
        default=None,
        help="pace answers by the deployed model and instance (roofline decode, batching, queueing)",
    )
    parser.add_argument("--time-scale", type=float, help="with --timing-model, run this many times faster")
    parser.add_argument(
        "--fail-health",
        type=_pair,
        action="append",
        default=[],
        metavar="PATTERN=KIND",
        help="fail the health check of endpoints/components/models matching PATTERN "
        "(KIND: oom, gated, timeout, kv-cache, unsupported-model)",
    )
    parser.add_argument(
        "--quota", type=_pair, action="append", default=[], metavar="TYPE=N", help="instances allowed of TYPE"
    )
    parser.add_argument("--default-quota", type=int, help="instances allowed of every other type")
    parser.add_argument("--throttle-rate", type=float, help="fraction of SageMaker calls to throttle (0-1)")
    parser.add_argument("--throttle-seed", type=int, help="seed of the throttling draw")
    parser.add_argument(
        "--log-requests",
        action="store_true",
        help="print one line per AWS request: service, operation, resource, status code, milliseconds",
    )
    return parser.parse_args(script_arguments(argv))


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    """Start configuration: environment variable, then --config file, then flags."""
    config = load_config(args.config, os.environ)
    updates: dict[str, Any] = {}
    for flag, key in (
        ("transition_seconds", "transition_seconds"),
        ("token_delay", "token_delay_seconds"),
        ("timing_model", "timing_model"),
        ("time_scale", "time_scale"),
        ("default_quota", "default_quota"),
        ("throttle_rate", "throttle_rate"),
        ("throttle_seed", "throttle_seed"),
    ):
        if getattr(args, flag) is not None:
            updates[key] = getattr(args, flag)
    if args.fail_health:
        updates["health_check_failures"] = {**config.health_check_failures, **dict(args.fail_health)}
    if args.quota:
        try:
            quotas = {name: int(value) for name, value in args.quota}
        except ValueError:
            raise EmulatorConfigError("--quota takes TYPE=N with a whole number N, e.g. ml.g5.2xlarge=1.") from None
        updates["quotas"] = {**config.quotas, **quotas}
    return config.merged(updates) if updates else config


def _write_env_file(path: Path, lines: list[str]) -> None:
    """Write atomically, so a reader waiting for the file never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(path)


def _print_request(record: RequestRecord) -> None:
    echo(record.line())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    request_log = _print_request if args.log_requests else None
    emulator = Emulator(port=args.port, host=args.host, config=config_from(args), request_log=request_log)
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only a list append: a handler that takes a lock (Event.set) deadlocks when a second signal lands
        # while the first handler holds it, as when `make` passes on the SIGTERM its process group got.
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    emulator.start()
    try:
        lines = environment_lines(emulator.url, args.region)
        echo(f"# Local AWS emulator listening on {emulator.url} (stop with Ctrl-C). Point the tool at it with:")
        for line in lines:
            echo(line)
        if args.env_file is not None:
            _write_env_file(args.env_file, lines)
        while not stopping:
            time.sleep(0.1)
    finally:
        emulator.stop()
        if args.env_file is not None:
            args.env_file.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    run(main)
