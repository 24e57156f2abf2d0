"""The deploy and delete scripts as users run them: one line per mistake, nothing created, plans first."""

from __future__ import annotations

import boto3
import pytest
from helpers import nothing_in_sagemaker
from helpers import run_main as invoke

from llm_engineering.model.deploy import delete, deploy


@pytest.fixture
def role(moto_aws):
    boto3.client("iam").create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"GPU_INSTANCE_TYPE": "ml.g5.3xlarge"}, "GPU_INSTANCE_TYPE='ml.g5.3xlarge' is not an instance type SageMaker"),
        ({"GPU_INSTANCE_TYPE": "ml.m5.xlarge"}, "GPU_INSTANCE_TYPE='ml.m5.xlarge' has no GPU this tool knows"),
        ({"GPU_INSTANCE_TYPE": "g5.2xlarge"}, "GPU_INSTANCE_TYPE='g5.2xlarge' is invalid"),
        ({"MAX_INPUT_TOKENS": "8192"}, "MAX_INPUT_TOKENS=8192 must be less than MAX_TOTAL_TOKENS=4096"),
        ({"HF_MODEL_ID": "org/model/extra"}, "HF_MODEL_ID='org/model/extra' is invalid"),
        ({"COPY_COUNT": "0"}, "COPY_COUNT='0' is invalid: Input should be greater than 0"),
        ({"COPY_COUNT": "-1"}, "COPY_COUNT='-1' is invalid: Input should be greater than 0"),
        ({"ENDPOINT_TYPE": "inference-component", "COPY_COUNT": "3"}, "COPY_COUNT=3 does not fit"),
        ({"GPUS_PER_COPY": "2"}, "GPUS_PER_COPY=2 does not divide the 1 GPU(s) of ml.g5.2xlarge"),
        ({"SAGEMAKER_ENDPOINT_INFERENCE": "x" * 64}, "SAGEMAKER_ENDPOINT_INFERENCE='xxxx"),
        ({"SAGEMAKER_ENDPOINT_INFERENCE": "bad.name"}, "SAGEMAKER_ENDPOINT_INFERENCE='bad.name' is invalid"),
        ({"TGI_IMAGE_VERSION": "0.9.3"}, "TGI_IMAGE_VERSION='0.9.3' is older than 2.0"),
        ({"SAGEMAKER_EXECUTION_ROLE_NAME": "NoSuchRole"}, "The SageMaker execution role 'NoSuchRole' does not exist"),
        # --- serving engines (ENGINE=tgi|vllm|sglang) ---
        ({"ENGINE": "tensorrt"}, "ENGINE='tensorrt' is invalid: Input should be 'tgi', 'vllm' or 'sglang'"),
        ({"ENGINE": "vllm", "ENGINE_VERSION": "0.99.0"}, "ENGINE_VERSION='0.99.0' is not a vLLM version the installed"),
        ({"ENGINE": "sglang", "ENGINE_VERSION": "0.4"}, "ENGINE_VERSION='0.4' is not a SGLang version"),
        (
            {"ENGINE": "vllm", "HF_MODEL_QUANTIZE": "bitsandbytes-nf4"},
            "HF_MODEL_QUANTIZE='bitsandbytes-nf4' is not a quantization vLLM knows (ENGINE=vllm): use bitsandbytes",
        ),
        ({"ENGINE": "tgi", "HF_MODEL_QUANTIZE": "int4"}, "HF_MODEL_QUANTIZE='int4' is not a quantization TGI knows"),
        ({"ENGINE": "vllm", "MAX_BATCH_TOTAL_TOKENS": "8192"}, "MAX_BATCH_TOTAL_TOKENS is set, but ENGINE=vllm"),
        ({"ENGINE": "vllm", "TGI_IMAGE_VERSION": "3.3.6"}, "TGI_IMAGE_VERSION is TGI's, but ENGINE=vllm: set"),
        (
            {"ENGINE_VERSION": "3.3.4", "TGI_IMAGE_VERSION": "3.3.6"},
            "ENGINE_VERSION='3.3.4' and its deprecated alias TGI_IMAGE_VERSION='3.3.6' disagree",
        ),
        (
            {"IMAGE_URI": "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-sglang:0.5.8"},
            "is a SGLang image but ENGINE=tgi: set ENGINE=sglang",
        ),
        (
            {"INFERENCE_AMI_VERSION": "al2-ami-sagemaker-inference-gpu-9"},
            "INFERENCE_AMI_VERSION='al2-ami-sagemaker-inference-gpu-9' is not an InferenceAmiVersion SageMaker knows",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_created(role, monkeypatch, capsys, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code, out, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in out + err
    assert nothing_in_sagemaker()


def test_dry_run_prints_the_plan_with_the_token_redacted_and_creates_nothing(role, monkeypatch, capsys):
    monkeypatch.setenv("HUGGINGFACE_ACCESS_TOKEN", "hf_dry_run_secret")
    code, out, err = invoke(deploy.main, "--dry-run", "--skip-preflight", capsys=capsys)
    assert code == 0, err
    assert "Plan: create model-based endpoint llm-engineering-endpoint in us-east-1" in out
    assert "HF_TOKEN=<redacted>" in out
    assert "1. CreateModel" in out and "3. CreateEndpoint" in out and "4. wait until endpoint" in out
    assert out.rstrip().endswith("Dry run: nothing was created.")
    assert "hf_dry_run_secret" not in out + err
    assert nothing_in_sagemaker()


def test_the_tgi_aliases_still_work_with_a_deprecation_warning(role, monkeypatch, capsys):
    monkeypatch.setenv("TGI_IMAGE_VERSION", "3.3.4")
    code, out, err = invoke(deploy.main, "--dry-run", "--skip-preflight", capsys=capsys)
    assert code == 0, err
    assert err == "warning: TGI_IMAGE_VERSION is deprecated: rename it ENGINE_VERSION (same meaning).\n"
    assert "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.4-gpu-py311-cu124-ubuntu22.04" in out
    assert "  engine         TGI 3.3.4 (ENGINE=tgi)" in out
    assert nothing_in_sagemaker()


def test_deploy_then_delete_through_the_scripts(role, capsys):
    code, out, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 0, err
    assert "Ready: endpoint llm-engineering-endpoint serves Qwen/Qwen2.5-7B-Instruct." in out
    assert "Delete it:  make delete-inference-endpoint ENDPOINT_NAME=llm-engineering-endpoint" in out
    assert not nothing_in_sagemaker()

    code, out, err = invoke(delete.main, capsys=capsys)
    assert code == 0, err
    assert "Deleted 3 resource(s) of llm-engineering-endpoint:" in out
    assert nothing_in_sagemaker()

    code, out, _ = invoke(delete.main, "--endpoint-name", "llm-engineering-endpoint", capsys=capsys)
    assert code == 0
    assert (
        out.strip() == "Nothing to delete: no endpoint llm-engineering-endpoint and nothing tagged as belonging to it."
    )


def test_delete_refuses_a_malformed_endpoint_name(moto_aws, capsys):
    code, _, err = invoke(delete.main, "bad_name!", capsys=capsys)
    assert code == 2
    assert err == (
        "error: ENDPOINT_NAME='bad_name!' is invalid: must be 1-63 letters, digits or hyphens, starting and ending "
        "with a letter or digit (SageMaker's naming rule).\n"
    )


def test_usage_mistakes_are_one_line_and_exit_2_in_every_script(capsys):
    from llm_engineering.model.deploy import preflight, status

    for main in (deploy.main, delete.main, preflight.main, status.main):
        code, out, err = invoke(main, "--no-such-option", capsys=capsys)
        assert (code, out) == (2, "")
        assert err.count("\n") == 1 and "unrecognized arguments: --no-such-option (see --help)." in err


def test_a_deploy_that_loses_aws_while_waiting_lists_what_exists_and_the_delete_command(role, monkeypatch, capsys):
    from botocore.exceptions import EndpointConnectionError

    from llm_engineering import aws as aws_module

    def lose_aws_after_create_endpoint(session) -> None:
        created: list[bool] = []

        def fail(**_: object) -> None:
            if created:
                raise EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/")

        session.register("after-call.sagemaker.CreateEndpoint", lambda **_: created.append(True))
        session.register("before-call.sagemaker.DescribeEndpoint", fail)

    monkeypatch.setattr(aws_module, "SESSION_OBSERVERS", [lose_aws_after_create_endpoint])
    code, _out, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith("error: stopped, AWS could not be reached or refused (EndpointConnectionError: ")
    assert lines[1].startswith("error: still exists (may be billing): model llm-engineering-endpoint-")
    assert "endpoint-config llm-engineering-endpoint-" in lines[1] and lines[1].endswith(
        "endpoint llm-engineering-endpoint"
    )
    assert lines[2] == "error: remove it with: make delete-inference-endpoint ENDPOINT_NAME=llm-engineering-endpoint"
    monkeypatch.setattr(aws_module, "SESSION_OBSERVERS", [])
    assert invoke(delete.main, capsys=capsys)[0] == 0
    assert nothing_in_sagemaker()


def test_deploy_warns_when_the_clients_max_new_tokens_exceeds_what_it_deploys(role, monkeypatch, capsys):
    monkeypatch.setenv("MAX_NEW_TOKENS_INFERENCE", "3000")
    code, _, err = invoke(deploy.main, "--dry-run", "--skip-preflight", capsys=capsys)
    assert code == 0
    assert err == (
        "warning: MAX_NEW_TOKENS_INFERENCE=3000 is more than this deploy allows for every prompt "
        "(MAX_TOTAL_TOKENS=4096 - MAX_INPUT_TOKENS=2048 = 2048): TGI will refuse longer prompts with it; lower it "
        "or raise MAX_TOTAL_TOKENS.\n"
    )


def test_a_malformed_region_is_one_line_in_every_script(monkeypatch, capsys):
    from llm_engineering.model.deploy import create_sagemaker_execution_role, create_sagemaker_role, preflight, status
    from llm_engineering.model.deploy import test as test_script

    monkeypatch.setenv("AWS_REGION", "mars;1")
    scripts = [
        (deploy.main, ["--yes", "--skip-preflight"]),
        (delete.main, []),
        (status.main, []),
        (preflight.main, []),
        (test_script.main, ["--prompt", "Hi"]),
        (create_sagemaker_role.main, []),
        (create_sagemaker_execution_role.main, ["--delete"]),
    ]
    for main, argv in scripts:
        code, out, err = invoke(main, *argv, capsys=capsys)
        assert (code, out) == (2, ""), main.__module__
        assert err == (
            "error: AWS_REGION='mars;1' is not an AWS region (such as us-east-1 or eu-west-1): fix it in .env, the "
            "environment or your AWS config.\n"
        ), main.__module__


def test_error_lines_carry_no_control_sequence_and_no_token(capsys):
    from llm_engineering.cli import fail, warn

    token = "hf_" + "Secret" * 6
    fail(f"AWS said \x1b]0;title\x07no\x1b[2J for {token}\r")
    warn(f"\x1b[31m{token}")
    assert capsys.readouterr().err == "error: AWS said no for <redacted>\nwarning: <redacted>\n"
