"""Preflight for a deploy from S3, in process against moto: the staged-model and S3-access rows in every state,
and the memory fit computed from the staged safetensors headers without asking the Hub."""

from __future__ import annotations

import json

import boto3
import pytest
from staging_world import BUCKET, stage, stage_spec

from llm_engineering.cli import run
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.iam import ExecutionRoleSpec, ensure_execution_role
from llm_engineering.model.deploy import preflight
from llm_engineering.preflight.checks import plan_for_preflight, run_preflight
from llm_engineering.settings import Settings

ROLE = "SageMakerExecutionRoleLLM"
QWEN = "Qwen/Qwen2.5-7B-Instruct"
LARGE = "Qwen/Qwen2.5-72B-Instruct"


def settings(**values: object) -> Settings:
    return Settings(**{"model_s3_bucket": BUCKET, "model_source": "s3", "hf_model_id": QWEN, **values})


def granted_role(aws, model_id: str = QWEN) -> None:
    prefixes = settings(hf_model_id=model_id).role_stage_prefixes
    ensure_execution_role(aws, ExecutionRoleSpec(name=ROLE, s3_prefixes=prefixes))


def rows(aws, **values: object) -> dict[str, dict]:
    spec = DeploymentSpec.from_settings(settings(**values))
    plan, observed = plan_for_preflight(spec, aws, None)  # weights from S3: the Hub is not asked
    report = run_preflight(spec, aws, plan, deployer_profile="sagemaker-deployer", observed=observed)
    return {row["check"]: row for row in report.as_dict()["checks"]}


def test_a_good_stage_is_checked_and_sized_from_its_headers_without_the_hub(aws, hub, recorded):
    staged = stage(aws, hub, stage_spec(HF_MODEL_ID=QWEN))
    granted_role(aws)
    found = rows(aws)
    assert list(found) == [
        "Identity and region",
        "Execution role",
        "Pass role",
        "Endpoint quota",
        "Staged model",
        "S3 read access",
        "Memory fit",
        "Price",
        "Engine support",
    ]
    assert found["Engine support"]["status"] == "ok"  # Qwen2 is one of TGI's types: read from the staged config
    assert found["Staged model"]["status"] == "ok"
    assert found["Staged model"]["details"]["uri"] == staged.location.uri
    assert found["S3 read access"]["status"] == "ok"
    assert found["S3 read access"]["details"]["decision"] == "allowed"
    assert found["Memory fit"]["status"] == "ok"
    assert found["Memory fit"]["details"]["parameters"] == 7_615_616_512
    ranged = [params.get("Range") for service, op, params in recorded.calls if op == "GetObject" and "Range" in params]
    assert ranged.count("bytes=0-7") == 4  # one 8-byte read per shard, then its header


def test_the_too_large_model_is_blocked_from_its_staged_headers(aws, hub):
    stage(aws, hub, stage_spec(HF_MODEL_ID=LARGE))
    granted_role(aws, LARGE)
    found = rows(aws, hf_model_id=LARGE)
    assert found["Memory fit"]["status"] == "blocked"
    assert found["Memory fit"]["details"]["parameters"] == 72_706_203_648


def test_a_role_without_the_prefix_is_blocked_with_the_fix(aws, hub):
    stage(aws, hub, stage_spec(HF_MODEL_ID=QWEN))
    ensure_execution_role(aws, ExecutionRoleSpec(name=ROLE))
    access = rows(aws)["S3 read access"]
    assert access["status"] == "blocked"
    assert access["details"]["refused"][0].startswith("s3:ListBucket on arn:aws:s3:::")
    assert access["fix"].startswith("run make create-sagemaker-execution-role with this setting in place")


def test_a_missing_or_damaged_stage_is_a_blocked_row_and_make_preflight_exits_1(aws, hub, monkeypatch, capsys):
    granted_role(aws)
    found = rows(aws)
    assert found["Staged model"]["status"] == "blocked" and found["Staged model"]["details"] == {"problem": "bucket"}
    assert found["S3 read access"]["status"] == "warning"
    assert "there is no complete stage to read its headers from" in found["Memory fit"]["evidence"]

    staged = stage(aws, hub, stage_spec(HF_MODEL_ID=QWEN))
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=BUCKET, Key=staged.location.key("stray.bin"), Body=b"?"
    )
    damaged = rows(aws)["Staged model"]
    assert damaged["details"] == {"problem": "files"}
    assert "stray.bin is not in the manifest" in damaged["evidence"]

    for name, value in {"MODEL_S3_BUCKET": BUCKET, "MODEL_SOURCE": "s3"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        run(lambda: preflight.main(["--json"]))
    out = capsys.readouterr().out
    assert stopped.value.code == 1
    assert {row["check"]: row["status"] for row in json.loads(out)["checks"]}["Staged model"] == "blocked"
