"""Helpers shared by tests: a clean environment, free ports, and running Make targets and scripts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Variables that could point a test at a real account, a real token or the developer's own setup.
_LEAKY_PREFIXES = ("AWS_", "HF_", "HUGGING", "SAGEMAKER_", "LLM_ENGINEERING_")
# Set when the suite itself runs under `make test`: a nested make would then report as `make[1]`.
_MAKE_VARIABLES = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR"}
_SETTINGS_NAMES = {
    "ENDPOINT_TYPE",
    "GPU_INSTANCE_TYPE",
    "GPU_INSTANCE_COUNT",
    "COPY_COUNT",
    "MAX_INPUT_TOKENS",
    "MAX_TOTAL_TOKENS",
    "MAX_BATCH_PREFILL_TOKENS",
    "MAX_BATCH_TOTAL_TOKENS",
    "TGI_IMAGE_VERSION",
    "TGI_IMAGE_URI",
    "EXECUTION_ROLE_S3_BUCKETS",
    "MODEL_S3_BUCKET",
    "MODEL_S3_URI",
    "MODEL_SOURCE",
    "DEPLOY_TIMEOUT",
    "CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT",
    "MODEL_DATA_DOWNLOAD_TIMEOUT",
    "MAX_NEW_TOKENS_INFERENCE",
    "TEMPERATURE_INFERENCE",
    "TOP_P_INFERENCE",
    "TOP_K_INFERENCE",
    "REPETITION_PENALTY_INFERENCE",
    "INFERENCE_REQUEST_TIMEOUT",
}


def clean_environment(home: Path) -> dict[str, str]:
    """The process environment minus anything AWS/HF/settings related, plus dummy credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_LEAKY_PREFIXES) and key not in _SETTINGS_NAMES | _MAKE_VARIABLES
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
