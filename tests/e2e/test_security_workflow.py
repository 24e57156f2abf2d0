"""The security targets end to end on the emulator: audit, key rotation, invoke-only policy, VPC deploy."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import boto3
from helpers import run_make

USER = "sagemaker-deployer"


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def _iam(env: dict[str, str]):
    return boto3.client("iam", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")


def _stored_key(env: dict[str, str]) -> str:
    parser = configparser.RawConfigParser()
    parser.read(Path(env["AWS_SHARED_CREDENTIALS_FILE"]))
    return parser[USER]["aws_access_key_id"]


def test_audit_rotate_and_invoke_policy(server_env):
    env = server_env
    _ok(run_make("create-sagemaker-role", env))
    _ok(run_make("create-sagemaker-execution-role", env))
    # The deployer uses its key once: the access advisor sees SageMaker used, the rest of its policy not.
    deployer = {**env, "AWS_PROFILE": USER}
    _ok(run_make("status", deployer))

    audit = json.loads(_ok(run_make("audit-iam", env, "ARGS=--json")).stdout)
    user, role = audit["principals"]
    assert user["name"] == USER and [key["id"] for key in user["keys"]] == [_stored_key(env)]
    assert user["mfa_devices"] == 0
    assert "sagemaker" in [service["service"] for service in user["used_services"]]
    assert "sagemaker" not in user["unused_services"] and user["unused_services"]
    findings = [finding["what"] for finding in user["findings"]]
    assert f"user {USER} has no MFA device" in findings
    assert role["name"] == "SageMakerExecutionRoleLLM" and "ecr" in role["unused_services"]
    text = _ok(run_make("audit-iam", env)).stdout
    assert f"IAM user {USER}" in text and "warning        user sagemaker-deployer has no MFA device" in text

    old = _stored_key(env)
    rotated = _ok(run_make("rotate-deployer-key", env)).stdout
    new = _stored_key(env)
    assert new != old and f"Deleted the previous access key {old}." in rotated
    assert [key["AccessKeyId"] for key in _iam(env).list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [new]
    _ok(run_make("status", deployer))  # the new key works for the deployer

    created = _ok(run_make("create-invoke-policy", env)).stdout
    assert "Policy ARN: arn:aws:iam::123456789012:policy/llm-engineering-invoke-llm-engineering-endpoint" in created
    deleted = _ok(run_make("delete-inference-endpoint", env)).stdout
    assert "remove it with: make create-invoke-policy ENDPOINT_NAME=llm-engineering-endpoint ARGS=--delete" in deleted
    _ok(run_make("create-invoke-policy", env, "ARGS=--delete"))
    names = [policy["PolicyName"] for policy in _iam(env).list_policies(Scope="Local")["Policies"]]
    assert "llm-engineering-invoke-llm-engineering-endpoint" not in names


def test_two_keys_stop_the_rotation_with_one_line(server_env):
    env = server_env
    _ok(run_make("create-sagemaker-role", env))
    _iam(env).create_access_key(UserName=USER)
    result = run_make("rotate-deployer-key", env)
    assert result.returncode == 2 and "already has two access keys" in result.stderr
    assert "Traceback" not in result.stderr
