"""How fast `python test.py --prompt hi` reaches the wire, against importing the SageMaker SDK.

Runs the client against a tiny local HTTP server that plays SageMaker (AWS_ENDPOINT_URL, dummy
credentials) and records when each request arrives. Prints, as median and best of interleaved rounds,
process start to the request on the wire (and to exit) for:

- `.venv/bin/python test.py --prompt hi`: the shim run by the project's interpreter, as `make
  test-inference` runs it. This is the figure the budget applies to: at least 5x faster than importing
  the SageMaker SDK (`sagemaker.core.resources`) on the same machine, in the same rounds;
- `python test.py --prompt hi` with the interpreter the venv was made from: the shim re-runs itself
  under `.venv`, which costs one more interpreter start;
- `python -m llm_engineering.model.deploy.test --prompt hi`: the module run directly, where the cyclic
  garbage collector is not paused while the modules load;

then the bare start of both interpreters (the second is what a re-run adds), the time to
`import sagemaker.core.resources` (what the client path must never pay), the ratio of that import to the
budgeted figure against the 5x budget, and the heaviest imports of the client path (`python -X importtime`).
A ratio, not seconds, because machines differ: both figures move together with the machine's speed.

    .venv/bin/python benchmarks/client_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from llm_engineering.local.eventstream import payload_part

REPO = Path(__file__).resolve().parent.parent
SHIM = [str(REPO / "test.py"), "--prompt", "hi"]
MODULE = ["-m", "llm_engineering.model.deploy.test", "--prompt", "hi"]
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
"""The interpreter the venv was made from: `python test.py` typed outside the venv."""
BUDGET_RATIO = 5.0
"""Start to wire must be at least this many times faster than importing the SageMaker SDK."""


ANSWER = payload_part(
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
    # Bytecode is written as on a user's machine (the first, warm-up run caches it); a PYTHONDONTWRITEBYTECODE
    # inherited from the shell would make every run compile the project's modules again.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SAGEMAKER_", "HF_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
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


def _wall(command: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    started = time.time()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    return time.time() - started


def _client_run(command: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(start -> request on the wire, start -> exit) of one `--prompt hi` run."""
    Recorder.arrivals.clear()
    started = time.time()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    ended = time.time()
    if done.returncode != 0 or len(Recorder.arrivals) != 1:
        raise SystemExit(f"the client run failed (exit {done.returncode}): {done.stderr.strip()}")
    return Recorder.arrivals[0] - started, ended - started


def _top_imports(env: dict[str, str], cwd: str, count: int) -> list[tuple[int, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *SHIM], env=env, cwd=cwd, capture_output=True, text=True, check=True
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
    parser.add_argument("--runs", type=int, default=7, help="rounds; each runs every measurement once, interleaved")
    args = parser.parse_args()

    clients = {
        "shim": [sys.executable, *SHIM],
        "reexec": [BASE_PYTHON, *SHIM],
        "module": [sys.executable, *MODULE],
    }
    figures: dict[str, list[float]] = {"bare": [], "base bare": [], "sdk": []}
    for name in clients:
        figures[f"{name} wire"] = []
        figures[f"{name} exit"] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as home:
            env = _environment(f"http://127.0.0.1:{server.server_address[1]}", home)
            for command in clients.values():
                _client_run(command, env, home)  # warm the file cache and bytecode
            _wall([sys.executable, "-c", "import sagemaker.core.resources"], env)
            # Interleaved, so that a busy moment on a shared machine weighs on every figure alike.
            for _ in range(args.runs):
                figures["bare"].append(_wall([sys.executable, "-c", "pass"], env))
                figures["base bare"].append(_wall([BASE_PYTHON, "-c", "pass"], env))
                for name, command in clients.items():
                    wire, exit_ = _client_run(command, env, home)
                    figures[f"{name} wire"].append(wire)
                    figures[f"{name} exit"].append(exit_)
                figures["sdk"].append(_wall([sys.executable, "-c", "import sagemaker.core.resources"], env))
            top = _top_imports(env, home, 12)
    finally:
        server.shutdown()

    median = {name: statistics.median(values) for name, values in figures.items()}
    best = {name: min(values) for name, values in figures.items()}
    rows = [
        (".venv/bin/python -c pass", "bare"),
        ("python -c pass (the interpreter the venv was made from)", "base bare"),
        (".venv/bin/python test.py: start -> request on the wire", "shim wire"),
        (".venv/bin/python test.py: start -> exit", "shim exit"),
        ("python test.py (re-runs under .venv): start -> wire", "reexec wire"),
        ("python -m ...deploy.test (collector not paused): -> wire", "module wire"),
        ("python -c 'import sagemaker.core.resources'", "sdk"),
    ]
    print(json.dumps({"rounds": args.runs, "cpus": os.cpu_count(), "load": os.getloadavg()[0]}))
    print(f"{'':58} {'median':>8} {'best':>8}")
    for label, name in rows:
        print(f"{label:58} {median[name]:7.3f}s {best[name]:7.3f}s")
    ratio = median["sdk"] / median["shim wire"]
    verdict = "within" if ratio >= BUDGET_RATIO else "OVER"
    print(f"{'ratio: SDK import / client start -> wire (medians)':58} {ratio:7.1f}x")
    print(f"{'budget: at least':58} {BUDGET_RATIO:7.1f}x  {verdict}")
    print("heaviest imports of the client path (cumulative, -X importtime):")
    for micros, name in top:
        print(f"  {micros / 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
