"""Weights from S3 end to end: the Make targets as subprocesses against the emulator, its Hub as HF_ENDPOINT.

Stage, stage again (nothing uploaded), verify, deploy both endpoint types from the stage (and update a
component from the Hub to the stage), talk to it, list it in status, refuse to delete it while in use,
delete the endpoint (the stage stays), delete the stage; a killed stage resumes; bad input is one line.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
from helpers import REPO, client, create_execution_role, make_in_process, ok, run_make

from llm_engineering.local.hub_catalogue import builtin_catalogue

BUCKET = "llm-engineering-e2e-models"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
ENDPOINT = "llm-engineering-endpoint"
COMMIT = builtin_catalogue()[MODEL].commit
STAGE = f"s3://{BUCKET}/models/Qwen--Qwen2.5-7B-Instruct/{COMMIT}/"
FILES = 11


def refused(result: subprocess.CompletedProcess[str], target: str, code: int = 2) -> str:
    """The script's one line, then make's own line naming the script's exit code."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1].endswith(f"{target}] Error {code}"), result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def objects(env: dict[str, str], bucket: str = BUCKET) -> list[str]:
    s3 = client(env, "s3")
    if bucket not in [item["Name"] for item in s3.list_buckets()["Buckets"]]:
        return []
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def env(server_env: dict[str, str], capsys) -> dict[str, str]:
    """The emulator for AWS and as the Hub (HF_ENDPOINT), a staging bucket, the execution role granted on it."""
    server_env.pop("HF_HUB_OFFLINE")
    env = {
        **server_env,
        "WAIT_POLL_INTERVAL": "0.1",
        "HF_ENDPOINT": server_env["AWS_ENDPOINT_URL"] + "/_hub",
        "MODEL_S3_BUCKET": BUCKET,
    }
    create_execution_role(env, capsys)
    return env


def test_stage_deploy_model_based_from_s3_status_and_delete(env):
    staged = ok(run_make("stage-model", env)).stdout
    assert f"Staging {MODEL} at commit {COMMIT[:12]} into {STAGE}" in staged
    assert f"Uploaded {FILES} file(s)" in staged and f"Manifest written last: {STAGE}manifest.json" in staged
    again = ok(run_make("stage-model", env)).stdout
    assert f"Already staged: nothing uploaded ({FILES} file(s) in S3 with the same size and checksum)." in again
    assert "Verified" in ok(run_make("stage-model", env, "ARGS=--verify")).stdout

    s3_env = {**env, "MODEL_SOURCE": "s3"}
    deployed = ok(run_make("deploy-inference-endpoint", s3_env, "ARGS=--yes")).stdout
    assert f"  weights        {STAGE}" in deployed
    assert "  Staged model         ok" in deployed and "  S3 read access       ok" in deployed
    assert "  Memory fit           ok       7.6B in bf16" in deployed
    sagemaker = client(env, "sagemaker")
    model = sagemaker.describe_model(ModelName=sagemaker.list_models()["Models"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataSource"] == {
        "S3DataSource": {"S3Uri": STAGE, "S3DataType": "S3Prefix", "CompressionType": "None"}
    }
    assert model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"
    assert "[emulated /opt/ml/model]" in ok(run_make("test-inference", s3_env)).stdout

    status = ok(run_make("status", s3_env)).stdout
    assert f"Staged models under s3://{BUCKET}/models/" in status
    assert f"  {STAGE}\n    {MODEL} at {COMMIT[:12]}, staged " in status
    assert f"{FILES} files, 68.7 KB, under USD 0.01/month" in status
    assert f"    loaded by endpoint {ENDPOINT}" in status

    in_use = refused(run_make("delete-staged-model", s3_env), "delete-staged-model", 1)
    assert in_use == (
        f"error: {STAGE} is loaded by endpoint {ENDPOINT}: delete that first (make delete-inference-endpoint), then "
        "run make delete-staged-model again. Nothing was deleted."
    )
    deleted = ok(run_make("delete-inference-endpoint", s3_env)).stdout
    assert "Staged weights in S3 are kept" in deployed + deleted
    assert len(objects(env)) == FILES + 1
    removed = ok(run_make("delete-staged-model", s3_env)).stdout
    assert f"Deleted {FILES + 1} object(s)" in removed and objects(env) == []
    assert "Nothing to delete" in ok(run_make("delete-staged-model", s3_env)).stdout
    assert f"No staged model under s3://{BUCKET}/models/." in ok(run_make("status", s3_env)).stdout


def test_a_component_moves_from_the_hub_to_the_stage(env):
    env = {**env, "ENDPOINT_TYPE": "inference-component"}
    ok(run_make("deploy-inference-endpoint", env, "ARGS=--yes"))
    sagemaker = client(env, "sagemaker")
    component = f"{ENDPOINT}-ic"

    def served_model() -> dict[str, Any]:
        name = sagemaker.describe_inference_component(InferenceComponentName=component)["Specification"]["ModelName"]
        return sagemaker.describe_model(ModelName=name)["PrimaryContainer"]

    assert served_model()["Environment"]["HF_MODEL_ID"] == MODEL and "ModelDataSource" not in served_model()

    ok(run_make("stage-model", env))
    updated = ok(run_make("deploy-inference-endpoint", {**env, "MODEL_S3_URI": STAGE}, "ARGS=--yes")).stdout
    assert "UpdateInferenceComponent" in updated
    assert served_model()["ModelDataSource"]["S3DataSource"]["S3Uri"] == STAGE
    answer = ok(run_make("test-inference", env, "ARGS=--json")).stdout
    assert f'"component": "{component}"' in answer and "[emulated /opt/ml/model]" in answer
    ok(run_make("delete-inference-endpoint", env))
    assert len(objects(env)) == FILES + 1


def test_a_killed_stage_has_no_manifest_and_the_next_one_resumes(env, tmp_path):
    errors = (tmp_path / "stderr").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_engineering.model.deploy.stage_model"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        uploaded = 0
        for line in process.stdout:
            uploaded += line.startswith("- uploaded ")
            if uploaded == 3:
                process.kill()  # between files: no chance to clean up or report
                break
        process.wait(timeout=30)
    finally:
        watchdog.cancel()
    left = objects(env)
    assert 3 <= len(left) < FILES and not any(key.endswith("manifest.json") for key in left)

    resumed = ok(run_make("stage-model", env)).stdout
    assert f"already in S3 with the same size and checksum: {len(left)} file(s), kept" in resumed
    assert f"Uploaded {FILES - len(left)} file(s)" in resumed
    assert f"{STAGE.removeprefix(f's3://{BUCKET}/')}manifest.json" in objects(env)


def test_bad_input_is_one_line_exit_2_and_nothing_is_created(env, capsys):
    """The first refusal of each target through make (the script's line, then make's); the others run the
    target's script in this process, with the same environment."""

    def script(target: str, values: dict[str, str], *assignments: str) -> str:
        result = make_in_process(target, values, *assignments, capsys=capsys)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]

    sagemaker = client(env, "sagemaker")
    no_bucket = {key: value for key, value in env.items() if key != "MODEL_S3_BUCKET"}
    assert refused(run_make("stage-model", no_bucket), "stage-model").startswith(
        "error: make stage-model needs MODEL_S3_BUCKET"
    )
    assert "MODEL_S3_URI='s3://x' is invalid" in script("stage-model", {**no_bucket, "MODEL_S3_URI": "s3://x"})
    client(env, "s3", "eu-west-1").create_bucket(
        Bucket="models-in-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    foreign = script("stage-model", {**env, "MODEL_S3_BUCKET": "models-in-eu"})
    assert foreign.startswith("error: MODEL_S3_BUCKET: bucket models-in-eu is in eu-west-1, but AWS_REGION=us-east-1")
    assert objects(env, "models-in-eu") == [] and objects(env) == []

    empty = refused(
        run_make(
            "deploy-inference-endpoint", {**no_bucket, "MODEL_S3_URI": "s3://models-in-eu/models/x/"}, "ARGS=--yes"
        ),
        "deploy-inference-endpoint",
    )
    assert "bucket models-in-eu is in eu-west-1, the endpoint in us-east-1" in empty
    ok(make_in_process("stage-model", env, capsys=capsys))
    no_manifest = f"s3://{BUCKET}/models/nothing-here/"
    missing = script("deploy-inference-endpoint", {**no_bucket, "MODEL_S3_URI": no_manifest}, "ARGS=--yes")
    assert missing == (
        f"error: MODEL_S3_URI={no_manifest} has no manifest.json, so no complete stage: run make stage-model (it "
        "resumes an interrupted stage), or fix MODEL_S3_URI."
    )
    ungranted = {key: value for key, value in env.items() if key != "MODEL_S3_BUCKET"}
    create_execution_role(ungranted, capsys)  # the role repaired back to no S3 access
    denied = script("deploy-inference-endpoint", {**ungranted, "MODEL_S3_URI": STAGE}, "ARGS=--yes")
    assert denied.startswith("error: MODEL_S3_URI: the execution role arn:aws:iam::123456789012:role/")
    assert f"may not read {STAGE}" in denied and "run make create-sagemaker-execution-role" in denied
    assert sagemaker.list_models()["Models"] == [] and sagemaker.list_endpoints()["Endpoints"] == []
