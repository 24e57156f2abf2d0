"""`make preflight` and `make deploy-inference-endpoint` as a user runs them: the emulator over real HTTP for AWS,
the fake Hub through HF_ENDPOINT."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from helpers import run_make
from hub_server import QWEN_7B_CONFIG, hub_model
from preflight_world import MODEL, QWEN_7B_PARAMETERS, ROLE

from llm_engineering.iam import execution_role_permissions, execution_role_trust_policy
from llm_engineering.iam.names import EXECUTION_POLICY_NAME
from llm_engineering.local.quotas import quota_code
from llm_engineering.local.server import configure

NO_REINSTALL = ("-o", ".venv/.installed")
"""The project is installed already: keep make from re-running `poetry install` for its stamp file."""
ACCOUNT = "123456789012"


@pytest.fixture
def env(server_env, fake_hub) -> dict[str, str]:
    """The emulator for AWS, the fake Hub for huggingface_hub (online), the execution role in place."""
    fake_hub.add(hub_model(MODEL, parameters=dict(QWEN_7B_PARAMETERS), config=dict(QWEN_7B_CONFIG)))
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server_env["AWS_ENDPOINT_URL"])
    iam.create_role(
        RoleName=ROLE,
        AssumeRolePolicyDocument=json.dumps(execution_role_trust_policy(ACCOUNT, partition="aws", region="us-east-1")),
    )
    permissions = execution_role_permissions(
        partition="aws", account_id=ACCOUNT, image_repositories=["arn:aws:ecr:us-east-1:763104351884:repository/*"]
    )
    iam.put_role_policy(RoleName=ROLE, PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=json.dumps(permissions))
    server_env.pop("HF_HUB_OFFLINE")
    return {**server_env, "HF_ENDPOINT": fake_hub.url}


def sagemaker_is_empty(url: str) -> bool:
    client = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=url)
    return not (
        client.list_endpoints()["Endpoints"]
        or client.list_endpoint_configs()["EndpointConfigs"]
        or client.list_models()["Models"]
    )


def test_quota_0_blocks_make_preflight_and_the_deploy_target_creates_nothing(env, fake_hub):
    url = env["AWS_ENDPOINT_URL"]
    configure(url, quotas={"ml.g5.2xlarge": 0})
    code = quota_code("ml.g5.2xlarge")

    done = run_make("preflight", env, *NO_REINSTALL)
    # The script exits 1 (make reports it, and exits 2 itself as it does for any failed recipe).
    assert done.returncode == 2, done.stdout + done.stderr
    assert "  Endpoint quota       blocked  'ml.g5.2xlarge for endpoint usage'" in done.stdout
    assert (
        f"fix: aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code {code} "
        "--desired-value 1 --region us-east-1" in done.stdout
    )
    first, second = done.stderr.splitlines()
    assert first == (
        "error: Preflight found a blocking problem: apply the fix shown for it, then run make preflight again."
    )
    assert re.fullmatch(r"make: \*\*\* \[Makefile:\d+: preflight\] Error 1", second)
    # The Hub was asked through HF_ENDPOINT, without a token.
    assert f"/api/models/{MODEL}" in fake_hub.paths()

    done = run_make("deploy-inference-endpoint", env, *NO_REINSTALL, "ARGS=--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(
        "error: Preflight found a blocking problem (above): fix it, or pass --skip-preflight. Nothing was created.\n"
        "make: *** [Makefile:"
    )
    assert done.stderr.endswith("deploy-inference-endpoint] Error 1\n")
    assert "Traceback" not in done.stdout + done.stderr
    assert sagemaker_is_empty(url)


def test_make_preflight_json_with_the_quota_available(env):
    done = run_make("preflight", env, *NO_REINSTALL, "ARGS=--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    statuses = {check["check"]: check["status"] for check in report["checks"]}
    assert statuses["Endpoint quota"] == "ok"
    assert statuses["Model access"] == "ok"
    assert statuses["Memory fit"] == "ok"
    assert statuses["Execution role"] == "ok"
    assert report["blocked"] is False
    assert sagemaker_is_empty(env["AWS_ENDPOINT_URL"])


def _pass_role_row(stdout: str) -> dict[str, object]:
    report = json.loads(stdout)
    return next(check for check in report["checks"] if check["check"] == "Pass role")


def test_pass_role_is_simulated_ok_for_the_deployer_and_blocks_a_user_without_it(env, offline_env):
    done = run_make("create-sagemaker-role", env, *NO_REINSTALL)
    assert done.returncode == 0, done.stdout + done.stderr
    deployer = {**env, "AWS_PROFILE": "sagemaker-deployer"}  # as make create-sagemaker-role advises

    done = run_make("preflight", deployer, *NO_REINSTALL, "ARGS=--json")
    assert done.returncode == 0, done.stdout + done.stderr
    row = _pass_role_row(done.stdout)
    assert row["status"] == "ok"
    assert row["details"] == {
        "principal": f"arn:aws:iam::{ACCOUNT}:user/sagemaker-deployer",
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE}",
        "decision": "allowed",
    }

    # A user who may use SageMaker but not pass the role: preflight blocks, and the deploy creates nothing.
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])
    iam.create_user(UserName="intern")
    everything_but_pass_role = {"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "*"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [everything_but_pass_role]})
    iam.put_user_policy(UserName="intern", PolicyName="no-pass-role", PolicyDocument=document)
    key = iam.create_access_key(UserName="intern")["AccessKey"]
    with open(env["AWS_SHARED_CREDENTIALS_FILE"], "a", encoding="utf-8") as credentials:
        credentials.write(
            f"\n[intern]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n"
        )
    intern = {**env, "AWS_PROFILE": "intern"}

    done = run_make("preflight", intern, *NO_REINSTALL)
    assert done.returncode == 2, done.stdout + done.stderr
    shown = " ".join(done.stdout.split())  # the table wraps its evidence column
    assert (
        f"Pass role blocked arn:aws:iam::{ACCOUNT}:user/intern may not pass arn:aws:iam::{ACCOUNT}:role/{ROLE} to "
        "sagemaker.amazonaws.com (iam:PassRole simulated: implicitDeny): CreateModel would be refused" in shown
    )
    done = run_make("deploy-inference-endpoint", intern, *NO_REINSTALL, "ARGS=--yes")
    assert done.returncode == 2 and "Nothing was created." in done.stderr
    assert sagemaker_is_empty(env["AWS_ENDPOINT_URL"])
