"""The Make targets end to end, as subprocesses, against the local emulator over real HTTP.

After every step the emulator's state is checked with boto3: what exists, with which requests' fields, and
that nothing is left behind, including after Ctrl-C (failed deploys and throttling, the scripts in-process:
tests/emulator/workflows/test_deploy_failures.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from helpers import REPO, client, create_execution_role, no_traceback_of_ours, ok, run_make, watch

from llm_engineering.local.server import advance_clock, configure

ENDPOINT = "llm-engineering-endpoint"
COMPONENT = f"{ENDPOINT}-ic"


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


EMPTY = {"endpoints": [], "configs": [], "models": [], "components": []}


def make(target: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_make(target, env, *args)


def failed_with(result: subprocess.CompletedProcess[str], code: int) -> str:
    """Make exits 2 when a recipe fails and names the script's own exit code: `... Error <code>`."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"deploy-inference-endpoint] Error {code}" in result.stderr
    no_traceback_of_ours(result.stdout + result.stderr)
    return result.stderr


@pytest.fixture
def env(server_env: dict[str, str], capsys) -> dict[str, str]:
    """The emulator with the execution role in place, as after `make create-sagemaker-execution-role`."""
    server_env = {**server_env, "WAIT_POLL_INTERVAL": "0.1"}
    create_execution_role(server_env, capsys)
    return server_env


def test_model_based_deploy_test_redeploy_delete(env):
    deployed = ok(make("deploy-inference-endpoint", env, "ARGS=--yes"))
    assert f"Ready: endpoint {ENDPOINT} serves Qwen/Qwen2.5-7B-Instruct." in deployed.stdout
    sagemaker = client(env)
    endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.g5.2xlarge" and variant["InitialInstanceCount"] == 1
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["Environment"] == {
        "HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct",
        "SM_NUM_GPUS": "1",
        "MAX_INPUT_TOKENS": "2048",
        "MAX_TOTAL_TOKENS": "4096",
    }
    assert model["PrimaryContainer"]["Image"].endswith(
        "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
    )
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
    assert (
        tags["llm-engineering:endpoint"] == ENDPOINT and tags["llm-engineering:model-id"] == "Qwen/Qwen2.5-7B-Instruct"
    )

    listed = ok(make("status", env)).stdout
    assert f"{ENDPOINT}: InService, model-based, Qwen/Qwen2.5-7B-Instruct on 1 x ml.g5.2xlarge" in listed
    assert "about USD 1.52/hour" in listed

    answer = ok(make("test-inference", env, "PROMPT=Say hi"))
    assert "[emulated Qwen/Qwen2.5-7B-Instruct]" in answer.stdout
    too_long = make("test-inference", {**env, "MAX_NEW_TOKENS_INFERENCE": "5000"})
    assert too_long.returncode == 2 and "test-inference] Error 2" in too_long.stderr
    assert (
        f"error: max_new_tokens=5000 is more than endpoint '{ENDPOINT}' allows: it was deployed with "
        "MAX_TOTAL_TOKENS=4096 (prompt plus answer) and MAX_INPUT_TOKENS=2048, so ask for at most 2048."
    ) in too_long.stderr
    configure(env["AWS_ENDPOINT_URL"], stream_error_after_tokens=3, stream_error="Truncated")
    cut = make("test-inference", env)
    assert cut.returncode == 2 and "test-inference] Error 1" in cut.stderr
    assert (
        f"error: The answer from endpoint '{ENDPOINT}' is incomplete: the stream ended after 3 token(s)" in cut.stderr
    )
    configure(env["AWS_ENDPOINT_URL"], stream_error_after_tokens=None)

    redeployed = ok(
        make("deploy-inference-endpoint", {**env, "HF_MODEL_ID": "Qwen/Qwen2.5-1.5B-Instruct"}, "ARGS=--yes")
    )
    assert f"Plan: update model-based endpoint {ENDPOINT}" in redeployed.stdout
    after = state(env)
    assert after["endpoints"] == [ENDPOINT]
    assert len(after["configs"]) == 1 and len(after["models"]) == 1  # the superseded ones were removed
    assert after["configs"] != [endpoint["EndpointConfigName"]]
    new_model = sagemaker.describe_model(ModelName=after["models"][0])
    assert new_model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "Qwen/Qwen2.5-1.5B-Instruct"
    answer = ok(make("test-inference", env, "ARGS=--json"))
    assert json.loads(answer.stdout)["answer"].startswith("[emulated Qwen/Qwen2.5-1.5B-Instruct]")

    deleted = ok(make("delete-inference-endpoint", env))
    assert f"Deleted 3 resource(s) of {ENDPOINT}:" in deleted.stdout
    assert state(env) == EMPTY
    again = ok(make("delete-inference-endpoint", env, f"ENDPOINT_NAME={ENDPOINT}"))
    assert "Nothing to delete" in again.stdout
    assert "nothing is billing" in ok(make("status", env)).stdout


def test_inference_component_deploy_test_redeploy_delete(env):
    env = {**env, "ENDPOINT_TYPE": "inference-component"}
    ok(make("deploy-inference-endpoint", env, "ARGS=--yes"))
    sagemaker = client(env)
    component = sagemaker.describe_inference_component(InferenceComponentName=COMPONENT)
    assert component["InferenceComponentStatus"] == "InService"
    assert component["EndpointName"] == ENDPOINT and component["VariantName"] == "AllTraffic"
    assert component["RuntimeConfig"]["CurrentCopyCount"] == 1
    assert component["Specification"]["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": 1.0,
        "NumberOfCpuCoresRequired": 4.0,
        "MinMemoryRequiredInMb": 24576,
    }
    config_name = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    assert "ModelName" not in variant

    answer = ok(make("test-inference", env, "ARGS=--json --no-stream"))
    assert json.loads(answer.stdout)["component"] == COMPONENT

    redeployed = ok(
        make("deploy-inference-endpoint", {**env, "HF_MODEL_ID": "Qwen/Qwen2.5-1.5B-Instruct"}, "ARGS=--yes")
    )
    assert "UpdateInferenceComponent" in redeployed.stdout
    after = state(env)
    assert after["components"] == [COMPONENT] and len(after["models"]) == 1 and after["configs"] == [config_name]
    assert (
        sagemaker.describe_inference_component(InferenceComponentName=COMPONENT)["Specification"]["ModelName"]
        == (after["models"][0])
    )

    refused = make("delete-sagemaker-execution-role", env)  # the endpoint's config and model run as the role
    assert refused.returncode == 2
    assert (
        "error: Not deleting IAM role SageMakerExecutionRoleLLM: live endpoint(s) of this tool in us-east-1 run as "
        f"it ({ENDPOINT})"
    ) in refused.stderr
    deleted = ok(make("delete-inference-endpoint", env))
    assert deleted.stdout.index(f"inference component {COMPONENT}") < deleted.stdout.index(f"endpoint {ENDPOINT}")
    assert state(env) == EMPTY
    ok(make("delete-sagemaker-execution-role", env))


HOUR = 3600
"""A transition that lasts an emulated hour: it ends when a test moves the emulator's clock, never by itself."""
DEPLOY = [sys.executable, "-m", "llm_engineering.model.deploy.deploy", "--yes", "--skip-preflight"]
DELETE = [sys.executable, "-m", "llm_engineering.model.deploy.delete"]
MAKE_DELETE = ["make", "-s", "-C", str(REPO), "delete-inference-endpoint"]


def test_ctrl_c_while_waiting_keeps_everything_and_says_how_to_delete(env, tmp_path):
    url = env["AWS_ENDPOINT_URL"]
    configure(url, transition_seconds=HOUR)
    errors = (tmp_path / "stderr").open("w+")

    def interrupt(line: str, running: subprocess.Popen[str]) -> bool:
        if line.startswith("  waiting for Endpoint"):
            running.send_signal(signal.SIGINT)
            return True
        return False

    process, _ = watch(DEPLOY, env, interrupt, errors)
    errors.seek(0)
    err = errors.read()
    assert process.returncode == 130, err
    assert "error: interrupted: stopped waiting, nothing was deleted" in err
    assert f"make delete-inference-endpoint ENDPOINT_NAME={ENDPOINT}" in err
    assert state(env)["endpoints"] == [ENDPOINT]
    assert client(env).describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Creating"

    configure(url, transition_seconds=0.2)  # the creation still ends when it was due; deleting is quick

    def end_the_creation(line: str, _running: subprocess.Popen[str]) -> bool:
        if line.startswith(f"  waiting for Endpoint {ENDPOINT}: Creating"):
            advance_clock(url, HOUR)
            return True
        return False

    # delete lets the creation settle first, as SageMaker requires: it says so, then the clock ends the creation
    deleted, out = watch(MAKE_DELETE, env, end_the_creation, errors)
    assert deleted.returncode == 0, out
    no_traceback_of_ours(out)
    assert f"waiting for Endpoint {ENDPOINT}: Creating" in out
    assert state(env) == EMPTY


def test_resources_that_vanish_while_waiting_are_not_reported_as_still_existing(env, tmp_path):
    import urllib.request

    configure(env["AWS_ENDPOINT_URL"], transition_seconds=HOUR)
    errors = (tmp_path / "stderr").open("w+")

    def reset_the_emulator(line: str, _running: subprocess.Popen[str]) -> bool:
        if not line.startswith("  waiting for Endpoint"):
            return False
        # AWS (or an emulator restart) lost what this run created
        request = urllib.request.Request(f"{env['AWS_ENDPOINT_URL']}/moto-api/reset", method="POST")
        urllib.request.urlopen(request).close()
        return True

    process, _ = watch(DEPLOY, env, reset_the_emulator, errors)
    errors.seek(0)
    err = errors.read()
    assert process.returncode == 1, err
    assert f"error: Endpoint {ENDPOINT} is gone: it was deleted by something else while this run waited" in err
    assert "rolled back: endpoint llm-engineering-endpoint, endpoint-config" in err
    assert "still exists" not in err and "remove it with" not in err
    assert state(env) == EMPTY


def test_ctrl_c_during_delete_says_what_is_left_and_running_delete_again_finishes(env, tmp_path):
    env = {**env, "ENDPOINT_TYPE": "inference-component"}
    url = env["AWS_ENDPOINT_URL"]
    ok(make("deploy-inference-endpoint", env, "ARGS=--yes --skip-preflight"))
    configure(url, transition_seconds=HOUR)
    errors = (tmp_path / "stderr").open("w+")

    def interrupt_while_the_endpoint_goes(line: str, running: subprocess.Popen[str]) -> bool:
        if line.startswith(f"  waiting for Inference component {COMPONENT}: Deleting"):
            advance_clock(url, HOUR)  # the component is gone
        if line.startswith(f"  waiting for Endpoint {ENDPOINT}: Deleting"):
            running.send_signal(signal.SIGINT)
            return True
        return False

    process, _ = watch(DELETE, env, interrupt_while_the_endpoint_goes, errors)
    errors.seek(0)
    err = errors.read().splitlines()
    assert process.returncode == 130, err
    assert err[0] == f"error: interrupted: stopped deleting {ENDPOINT}"
    assert err[1] == f"error: deleted: inference component {COMPONENT}"
    assert err[2].startswith(f"error: left: endpoint {ENDPOINT} (being deleted), endpoint config ")
    assert err[3] == f"error: run it again to finish the job: make delete-inference-endpoint ENDPOINT_NAME={ENDPOINT}"

    def end_the_deletion(line: str, _running: subprocess.Popen[str]) -> bool:
        if line.startswith(f"  waiting for Endpoint {ENDPOINT}: Deleting"):
            advance_clock(url, HOUR)
            return True
        return False

    # joins the deletion in progress, then removes the rest
    again, out = watch(MAKE_DELETE, env, end_the_deletion, errors)
    assert again.returncode == 0, out
    no_traceback_of_ours(out)
    assert f"deleting endpoint {ENDPOINT} (already being deleted)" in out
    assert state(env) == EMPTY


def test_endpoint_name_means_the_same_endpoint_for_every_target(env):
    name = "named-by-make"
    deployed = ok(make("deploy-inference-endpoint", env, f"ENDPOINT_NAME={name}", "ARGS=--yes"))
    assert f"Plan: create model-based endpoint {name} in us-east-1" in deployed.stdout
    assert f"(endpoint {name})" in deployed.stdout  # preflight checked the same endpoint
    assert state(env)["endpoints"] == [name]
    assert f"  {name}: InService, model-based" in ok(make("status", env, f"ENDPOINT_NAME={name}")).stdout
    answer = ok(make("test-inference", env, f"ENDPOINT_NAME={name}", "ARGS=--json"))
    assert json.loads(answer.stdout)["endpoint"] == name
    checked = ok(make("preflight", env, f"ENDPOINT_NAME={name}", "ARGS=--json"))
    assert json.loads(checked.stdout)["subject"].endswith(f"(endpoint {name})")
    assert (
        "Nothing to delete: no endpoint llm-engineering-endpoint" in ok(make("delete-inference-endpoint", env)).stdout
    )
    assert (
        f"Deleted 3 resource(s) of {name}:"
        in ok(make("delete-inference-endpoint", env, f"ENDPOINT_NAME={name}")).stdout
    )
    assert state(env) == EMPTY
