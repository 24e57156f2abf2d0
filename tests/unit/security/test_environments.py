"""ENV=prod (or LLM_ENGINEERING_ENV=prod): .env.prod read after .env, resources tagged, the plan says where."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest

from llm_engineering.cli import run
from llm_engineering.errors import ConfigurationError
from llm_engineering.model.deploy import deploy
from llm_engineering.setting_sources import environment_name
from llm_engineering.settings import load_settings
from llm_engineering.tags import tool_tags


@pytest.fixture
def files(tmp_path: Path, monkeypatch) -> Path:
    base = tmp_path / "settings.env"
    base.write_text("GPU_INSTANCE_COUNT=2\nHF_MODEL_ID=Qwen/Qwen2.5-0.5B-Instruct\n")
    (tmp_path / "settings.env.prod").write_text("HF_MODEL_ID=Qwen/Qwen2.5-7B-Instruct\nENDPOINT_NAME=prod-endpoint\n")
    monkeypatch.setenv("LLM_ENGINEERING_ENV_FILE", str(base))
    monkeypatch.delenv("ENV", raising=False)
    return base


def test_env_prod_reads_its_file_after_the_base_one(files, monkeypatch):
    assert load_settings().hf_model_id == "Qwen/Qwen2.5-0.5B-Instruct"
    monkeypatch.setenv("ENV", "prod")
    settings = load_settings()
    assert settings.hf_model_id == "Qwen/Qwen2.5-7B-Instruct"  # .env.prod wins
    assert settings.gpu_instance_count == 2  # .env still read
    assert settings.sagemaker_endpoint_inference == "prod-endpoint"


def test_the_tools_own_variable_wins_and_must_be_a_name(files, monkeypatch):
    monkeypatch.setenv("ENV", "dev")
    monkeypatch.setenv("LLM_ENGINEERING_ENV", "prod")
    assert environment_name() == "prod" and load_settings().hf_model_id == "Qwen/Qwen2.5-7B-Instruct"
    monkeypatch.setenv("LLM_ENGINEERING_ENV", "Prod!")
    with pytest.raises(ConfigurationError, match=r"^LLM_ENGINEERING_ENV='Prod!' is invalid"):
        load_settings()


@pytest.mark.parametrize("value", ["/home/me/.shrc", "../../etc", "prod;touch x", "Prod", "prod/../dev"])
def test_an_env_that_is_no_environment_name_is_refused_like_the_tools_own(files, monkeypatch, value):
    """Not silently ignored (the default settings would be used instead of those meant), `Prod` included while
    .env.prod exists; a shell's startup file in ENV is told apart."""
    monkeypatch.setenv("ENV", value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value).startswith(f"ENV={value!r} is invalid: an environment is a short lower-case name")
    assert "or unset it (a shell's startup file is no environment)" in str(refused.value)


def test_a_bad_env_stops_deploy_with_one_line_and_nothing_created(files, monkeypatch, capsys, moto_aws):
    monkeypatch.setenv("ENV", "prod;touch x")
    code, out, err = _deploy(capsys, "--yes", "--skip-preflight")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: ENV='prod;touch x' is invalid")
    assert boto3.client("sagemaker", region_name="us-east-1").list_models()["Models"] == []


def test_the_tools_own_variable_lets_a_shell_keep_its_env(files, monkeypatch):
    monkeypatch.setenv("ENV", "/home/me/.shrc")
    monkeypatch.setenv("LLM_ENGINEERING_ENV", "prod")
    assert environment_name() == "prod" and load_settings().hf_model_id == "Qwen/Qwen2.5-7B-Instruct"


def test_tags_name_the_environment(files, monkeypatch):
    assert "llm-engineering:environment" not in {tag["Key"] for tag in tool_tags()}
    monkeypatch.setenv("ENV", "prod")
    assert {"Key": "llm-engineering:environment", "Value": "prod"} in tool_tags(endpoint="x")


def _deploy(capsys, *args: str) -> tuple[int, str, str]:
    sys.argv = ["deploy", *args]
    with pytest.raises(SystemExit) as exited:
        run(deploy.main)
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_a_missing_environment_file_is_one_line_exit_2(files, monkeypatch, capsys, moto_aws):
    monkeypatch.setenv("ENV", "staging")
    code, out, err = _deploy(capsys, "--dry-run", "--skip-preflight")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "ENV=staging reads" in err and "settings.env.staging" in err


def test_the_plans_first_line_names_account_and_environment(files, monkeypatch, capsys, moto_aws):
    boto3.client("iam").create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    monkeypatch.setenv("ENV", "prod")
    code, out, err = _deploy(capsys, "--dry-run", "--skip-preflight")
    assert code == 0, err
    assert out.splitlines()[0] == (
        "Plan: create model-based endpoint prod-endpoint in us-east-1 of account 123456789012, environment prod"
    )
    assert _deploy(capsys, "--yes", "--skip-preflight", "--no-wait")[0] == 0
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    (model,) = sagemaker.list_models()["Models"]
    tags = sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]
    assert {"Key": "llm-engineering:environment", "Value": "prod"} in tags


def test_a_line_the_environment_file_cannot_hold_stops_naming_it(files, monkeypatch):
    (files.parent / "settings.env.prod").write_text("GPU_INSTANCE_TYPE ml.g5.xlarge\n")
    monkeypatch.setenv("ENV", "prod")
    with pytest.raises(ConfigurationError, match=r"settings\.env\.prod"):
        load_settings()
