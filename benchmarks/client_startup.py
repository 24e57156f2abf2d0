"""How fast `python test.py --prompt hi` reaches the wire, against importing the SageMaker SDK.

Runs `python -m llm_engineering.model.deploy.test --prompt hi` against a tiny local HTTP server that
plays SageMaker (AWS_ENDPOINT_URL, dummy credentials) and records when each request arrives. Prints the
median time from process start to the request on the wire and to exit, the bare interpreter start,
the time to `import sagemaker.core.resources` (what the client path must never pay), their ratio, and
the heaviest imports of the client path (`python -X importtime`).

    .venv/bin/python benchmarks/client_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = ["-m", "llm_engineering.model.deploy.test", "--prompt", "hi"]
FLOOR = (
    "from llm_engineering.settings import load_settings; from llm_engineering.aws import from_settings; "
    "from_settings(load_settings()).client('sagemaker-runtime')"
)
"""What every command of the tool pays before its first call: the shared settings and client factory."""


def _event_stream_message(payload: bytes) -> bytes:
    """One AWS event-stream `PayloadPart` message, as InvokeEndpointWithResponseStream frames them."""
    headers = {":message-type": "event", ":event-type": "PayloadPart", ":content-type": "application/octet-stream"}
    encoded = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode() for k, v in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


ANSWER = _event_stream_message(
    b'data:{"index":1,"token":{"id":1,"text":"Hello","logprob":0.0,"special":false},"generated_text":"Hello",'
    b'"details":{"finish_reason":"length","generated_tokens":1,"seed":null}}\n\n'
)


class Recorder(BaseHTTPRequestHandler):
    """Notes the arrival time of each request and answers with a one-token TGI stream."""

    arrivals: list[float] = []  # noqa: RUF012 (shared by the server's handler instances on purpose)

    def do_POST(self) -> None:
        Recorder.arrivals.append(time.time())
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _environment(url: str, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "HF_"))}
    env.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="benchmark",
        AWS_SECRET_ACCESS_KEY="benchmark",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=os.path.join(home, "config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"),
        LLM_ENGINEERING_ENV_FILE=os.path.join(home, "no.env"),
        PYTHONPATH=str(REPO),
    )
    return env


def _median_wall(command: list[str], runs: int, env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    times = []
    for _ in range(runs):
        started = time.time()
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
        times.append(time.time() - started)
    return statistics.median(times)


def _client_runs(runs: int, env: dict[str, str], cwd: str) -> tuple[float, float]:
    to_wire, to_exit = [], []
    for _ in range(runs):
        Recorder.arrivals.clear()
        started = time.time()
        done = subprocess.run([sys.executable, *SCRIPT], env=env, cwd=cwd, capture_output=True, text=True)
        ended = time.time()
        if done.returncode != 0 or len(Recorder.arrivals) != 1:
            raise SystemExit(f"the client run failed (exit {done.returncode}): {done.stderr.strip()}")
        to_wire.append(Recorder.arrivals[0] - started)
        to_exit.append(ended - started)
    return statistics.median(to_wire), statistics.median(to_exit)


def _top_imports(env: dict[str, str], cwd: str, count: int) -> list[tuple[int, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *SCRIPT], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    entries = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            if cumulative.isdigit():
                entries.append((int(cumulative), name))
    return sorted(entries, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median reported)")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as home:
            env = _environment(f"http://127.0.0.1:{server.server_address[1]}", home)
            _client_runs(1, env, home)  # warm the file cache and bytecode
            to_wire, to_exit = _client_runs(args.runs, env, home)
            floor = _median_wall([sys.executable, "-c", FLOOR], args.runs, env, home)
            top = _top_imports(env, home, 12)
    finally:
        server.shutdown()
    bare = _median_wall([sys.executable, "-c", "pass"], args.runs)
    sdk = _median_wall([sys.executable, "-c", "import sagemaker.core.resources"], max(3, args.runs // 2))

    print(json.dumps({"runs": args.runs, "cpus": os.cpu_count()}))
    print(f"python -c pass                              {bare:6.3f} s")
    print(f"client: process start -> request on wire     {to_wire:6.3f} s   (budget 0.500 s)")
    print(f"client: process start -> exit                {to_exit:6.3f} s")
    print(f"shared floor: settings + aws + runtime client {floor:6.3f} s   (no request; common to every command)")
    print(f"client's own share (start->wire minus floor)  {to_wire - floor:6.3f} s")
    print(f"python -c 'import sagemaker.core.resources'  {sdk:6.3f} s")
    print(f"ratio SDK import / client start-to-wire      {sdk / to_wire:6.1f}x")
    print("heaviest imports of the client path (cumulative, -X importtime):")
    for micros, name in top:
        print(f"  {micros / 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
