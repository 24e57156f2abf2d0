"""`python test.py`: talk to the deployed endpoint (see llm_engineering/model/deploy/test.py).

A shim for people who run the file with whatever `python` is on their PATH: it re-runs itself with the
project's own interpreter (.venv, made by `make install`) so every dependency is there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def _venv_python() -> Path | None:
    for candidate in (VENV / "bin" / "python", VENV / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    return None


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


if __name__ == "__main__":
    if not _in_venv():
        python = _venv_python()
        if python is None or os.environ.get("LLM_ENGINEERING_REEXEC") == "1":
            print("error: the project is not installed: run `make install`, then `python test.py`.", file=sys.stderr)
            sys.exit(2)
        os.environ["LLM_ENGINEERING_REEXEC"] = "1"
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
    os.environ.pop("LLM_ENGINEERING_REEXEC", None)
    sys.path.insert(0, str(ROOT))
    from llm_engineering.cli import run
    from llm_engineering.model.deploy.test import main

    run(main)
