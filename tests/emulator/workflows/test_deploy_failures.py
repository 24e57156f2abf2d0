"""Deploys that fail, on the emulator: diagnosed in the tool's (and each engine's) words and rolled back, kept
with --keep-failed, refused by a quota, or survived through throttling. The scripts run in this process, each
with the environment and arguments its Make target gives it (the targets' own wiring is tests/e2e's)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from helpers import client, make_in_process, no_traceback_of_ours, ok

from llm_engineering.local.server import configure

ENDPOINT = "llm-engineering-endpoint"
COMPONENT = f"{ENDPOINT}-ic"
EMPTY = {"endpoints": [], "configs": [], "models": [], "components": []}


def state(env: dict[str, str]) -> dict[str, list[str]]:
    sagemaker = client(env)
    return {
        "endpoints": [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]],
        "configs": sorted(c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]),
        "models": sorted(m["ModelName"] for m in sagemaker.list_models()["Models"]),
        "components": [
            c["InferenceComponentName"] for c in sagemaker.list_inference_components()["InferenceComponents"]
        ],
    }


@pytest.fixture
def make(capsys: pytest.CaptureFixture[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`make <target> ARGS=...` as the target's script in this process (`helpers.make_in_process`)."""
    return lambda target, env, *assignments: make_in_process(target, env, *assignments, capsys=capsys)


def failed_with(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The script's own exit code (make, which reports it as `... Error <code>`, is tested in tests/e2e)."""
    assert result.returncode == code, result.stdout + result.stderr
    no_traceback_of_ours(result.stdout + result.stderr)
    return result.stderr


@pytest.fixture
def env(server_env: dict[str, str], make) -> dict[str, str]:
    """The emulator with the execution role in place, as after `make create-sagemaker-execution-role`."""
    server_env = {**server_env, "WAIT_POLL_INTERVAL": "0.1"}
    ok(make("create-sagemaker-execution-role", server_env))
    return server_env


def test_failed_health_check_is_diagnosed_and_rolled_back(env, make):
    configure(env["AWS_ENDPOINT_URL"], health_check_failures={ENDPOINT: "oom"})
    err = failed_with(make("deploy-inference-endpoint", env, "ARGS=--yes"), 1)
    assert f"error: Endpoint {ENDPOINT} is Failed: The primary container for production variant AllTraffic" in err
    assert f"Last container log lines (/aws/sagemaker/Endpoints/{ENDPOINT})" in err
    assert "CUDA out of memory" in err
    assert "What to do: The model does not fit the 24 GiB of GPU memory of ml.g5.2xlarge" in err
    assert "rolled back: endpoint" in err
    assert state(env) == EMPTY


def test_gated_model_in_a_component_is_diagnosed_and_rolled_back(env, make):
    env = {**env, "ENDPOINT_TYPE": "inference-component"}
    configure(env["AWS_ENDPOINT_URL"], health_check_failures={COMPONENT: "gated"})
    err = failed_with(make("deploy-inference-endpoint", env, "ARGS=--yes"), 1)
    assert f"/aws/sagemaker/InferenceComponents/{COMPONENT}" in err
    assert "is gated on the Hugging Face Hub: set HUGGINGFACE_ACCESS_TOKEN" in err
    assert state(env) == EMPTY


def test_keep_failed_leaves_the_failure_for_inspection_and_delete_removes_it(env, make):
    configure(env["AWS_ENDPOINT_URL"], health_check_failures={"*": "timeout"})
    err = failed_with(make("deploy-inference-endpoint", env, "ARGS=--yes --keep-failed"), 1)
    assert "CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT=900" in err
    assert f"remove it with: make delete-inference-endpoint ENDPOINT_NAME={ENDPOINT}" in err
    assert state(env)["endpoints"] == [ENDPOINT]
    ok(make("delete-inference-endpoint", env))
    assert state(env) == EMPTY


def test_zero_quota_refusal_names_the_quota_and_leaves_nothing(env, make):
    configure(env["AWS_ENDPOINT_URL"], quotas={"ml.g5.2xlarge": 0})
    err = failed_with(make("deploy-inference-endpoint", env, "ARGS=--yes --skip-preflight"), 1)
    assert "error: SageMaker refused CreateEndpoint: ResourceLimitExceeded" in err
    assert "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-" in err
    assert state(env) == EMPTY


def test_throttling_is_survived_by_retries(env, make):
    configure(env["AWS_ENDPOINT_URL"], throttle_rate=0.3, throttle_seed=7)
    ok(make("deploy-inference-endpoint", env, "ARGS=--yes"))
    ok(make("test-inference", env))
    ok(make("delete-inference-endpoint", env))
    configure(env["AWS_ENDPOINT_URL"], throttle_rate=0.0)
    assert state(env) == EMPTY


def test_vllm_refusing_its_max_model_len_is_diagnosed_with_the_setting_to_lower(env, make):
    configure(env["AWS_ENDPOINT_URL"], health_check_failures={ENDPOINT: "kv-cache"})
    err = failed_with(make("deploy-inference-endpoint", {**env, "ENGINE": "vllm"}, "ARGS=--yes"), 1)
    assert "To serve at least one request with the model's max seq len (4096)" in err
    assert "What to do: vLLM's KV cache cannot hold one MAX_TOTAL_TOKENS=4096 sequence in gpu_memory_utilization" in err
    assert "lower MAX_TOTAL_TOKENS to 24064 or less (vLLM's estimate: 24224)" in err
    assert state(env) == EMPTY


def test_a_cuda_13_image_on_a_host_without_its_driver_fails_without_logs_and_names_the_ami(env, make):
    values = {**env, "ENGINE": "vllm", "INFERENCE_AMI_VERSION": "al2-ami-sagemaker-inference-gpu-2"}
    err = failed_with(make("deploy-inference-endpoint", values, "ARGS=--yes --skip-preflight"), 1)
    assert f"No log group /aws/sagemaker/Endpoints/{ENDPOINT}: the container never started" in err
    assert "What to do: The image is built on CUDA 13.0 and the host AMI (al2-ami-sagemaker-inference-gpu-2) " in err
    assert "Set INFERENCE_AMI_VERSION=al2023-ami-sagemaker-inference-gpu-4-1" in err
    assert state(env) == EMPTY


def test_tgi_without_the_models_architecture_advises_vllm(env, make):
    configure(env["AWS_ENDPOINT_URL"], health_check_failures={ENDPOINT: "unsupported-model"})
    err = failed_with(make("deploy-inference-endpoint", env, "ARGS=--yes --skip-preflight"), 1)
    assert "ValueError: Unsupported model type qwen2.5" in err
    assert "does not know the architecture `qwen2.5` of HF_MODEL_ID=Qwen/Qwen2.5-7B-Instruct: set ENGINE=vllm" in err
    assert state(env) == EMPTY
