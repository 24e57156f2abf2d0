"""`python test.py`: talk to the deployed endpoint (see llm_engineering/model/deploy/test.py).

A shim for people who run the file with whatever `python` is on their PATH: it re-runs itself with the
project's own interpreter (.venv, made by `make install`) so every dependency is there. It uses `os.path`,
not `pathlib`: importing pathlib would cost the first interpreter ~15 ms before it hands over.
"""

from __future__ import annotations

import gc
import os
import sys

ROOT = os.path.dirname(os.path.realpath(__file__))
VENV = os.path.join(ROOT, ".venv")


def _venv_python() -> str | None:
    for candidate in (os.path.join(VENV, "bin", "python"), os.path.join(VENV, "Scripts", "python.exe")):
        if os.path.exists(candidate):
            return candidate
    return None


def _in_venv() -> bool:
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


if __name__ == "__main__":
    if not _in_venv():
        python = _venv_python()
        if python is None or os.environ.get("LLM_ENGINEERING_REEXEC") == "1":
            print("error: the project is not installed: run `make install`, then `python test.py`.", file=sys.stderr)
            sys.exit(2)
        os.environ["LLM_ENGINEERING_REEXEC"] = "1"
        os.execv(python, [python, os.path.join(ROOT, "test.py"), *sys.argv[1:]])
    os.environ.pop("LLM_ENGINEERING_REEXEC", None)
    sys.path.insert(0, ROOT)
    # pydantic looks for plugins in every installed distribution's entry points when it builds the first
    # model (~10 ms); the client uses none. PYDANTIC_DISABLE_PLUGINS is pydantic's own switch for that.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Loading botocore and pydantic allocates a few hundred thousand objects that live as long as the
    # process, and the cyclic collector would scan them again and again while they load: tens of ms of the
    # client's 0.5 s start-up budget (benchmarks/client_startup.py). So it waits until the modules are
    # loaded, and what they built is frozen out of its later scans.
    gc.disable()
    from llm_engineering.cli import run
    from llm_engineering.model.deploy.test import main

    gc.freeze()
    gc.enable()
    run(main)
