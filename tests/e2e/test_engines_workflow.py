"""Every engine end to end on the emulator, for both hosting types: deploy, `python test.py` (chat and text
generation, streamed and not, the engine learnt from the endpoint's tags), status and delete. `python test.py`
runs as a process; deploy, status and delete run their scripts in this process, as their Make targets would
(those targets run end to end in test_endpoint_workflow). Each engine's failures, explained in its own words,
are tests/emulator/workflows/test_deploy_failures.py's."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import REPO, create_execution_role, make_in_process
from test_endpoint_workflow import EMPTY, ENDPOINT, client, ok, state

MODEL = "Qwen/Qwen2.5-7B-Instruct"
CONVERSATION = "Say one\n/chat off\nSay two\n/stream off\nSay three\n/chat on\nSay four\n"
"""Four prompts: chat streamed, text generation streamed, text generation whole, chat whole."""
EXPECTED = {
    "tgi": ("huggingface-pytorch-tgi-inference", "HF_MODEL_ID", "al2-ami-sagemaker-inference-gpu-3-1"),
    "vllm": ("huggingface-vllm", "SM_VLLM_MODEL", "al2023-ami-sagemaker-inference-gpu-4-1"),
    "sglang": ("huggingface-sglang", "SM_SGLANG_MODEL_PATH", "al2-ami-sagemaker-inference-gpu-3-1"),
}


@pytest.fixture
def env(server_env: dict[str, str], capsys) -> dict[str, str]:
    server_env = {**server_env, "WAIT_POLL_INTERVAL": "0.1"}
    create_execution_role(server_env, capsys)
    return server_env


def talk(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python test.py` from the repository root, prompts piped in, with no ENGINE setting."""
    return subprocess.run(
        [sys.executable, "test.py"], input=CONVERSATION, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("engine", "endpoint_type"),
    [
        # TGI's deploy, status and delete for both hosting types are test_endpoint_workflow's: here its four modes.
        ("tgi", "model-based"),
        ("vllm", "model-based"),
        ("vllm", "inference-component"),
        ("sglang", "model-based"),
        ("sglang", "inference-component"),
    ],
)
def test_deploy_talk_status_delete(env, capsys, engine, endpoint_type):
    def make(target: str, env: dict[str, str], *assignments: str) -> subprocess.CompletedProcess[str]:
        return make_in_process(target, env, *assignments, capsys=capsys)

    repository, model_variable, ami = EXPECTED[engine]
    hosting = {**env, "ENDPOINT_TYPE": endpoint_type}
    deployed = ok(make("deploy-inference-endpoint", {**hosting, "ENGINE": engine}, "ARGS=--yes --skip-preflight"))
    assert f"ENGINE={engine})" in deployed.stdout
    sagemaker = client(env)
    config_name = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    assert variant.get("InferenceAmiVersion") == ami
    [model_name] = state(env)["models"]
    container = sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]
    assert f"/{repository}:" in container["Image"] and container["Environment"][model_variable] == MODEL
    tagged = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=sagemaker.describe_model(
        ModelName=model_name)["ModelArn"])["Tags"]}  # fmt: skip
    assert tagged["llm-engineering:engine"] == engine

    talked = talk(hosting)
    assert talked.returncode == 0, talked.stdout + talked.stderr
    answers = [line for line in talked.stdout.splitlines() if line]
    assert len(answers) == 4 and all(answer.startswith(f"[emulated {MODEL}]") for answer in answers), talked.stdout
    stats = [line for line in talked.stderr.splitlines() if line.startswith("[")]
    assert len(stats) == 4 and all(not line.startswith("[0 tokens") for line in stats), talked.stderr

    listed = ok(make("status", env)).stdout
    assert f"{ENDPOINT}: InService, {endpoint_type}, {MODEL} on 1 x ml.g5.2xlarge" in listed
    assert f"    engine {engine}" in listed
    ok(make("delete-inference-endpoint", env))
    assert state(env) == EMPTY
