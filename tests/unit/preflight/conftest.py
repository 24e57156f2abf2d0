"""Fixtures for preflight: in-process moto, answers for the calls moto lacks, a deployer, a role, the default
model on the fake Hub (`fake_hub`, in the root conftest)."""

from __future__ import annotations

import boto3
import pytest
from aws_recorder import AwsRecorder
from hub_server import QWEN_7B_CONFIG, hub_model
from preflight_world import DEPLOYER, DEPLOYER_ARN, MODEL, QWEN_7B_PARAMETERS, ROLE

from llm_engineering.iam import ExecutionRoleSpec, ensure_execution_role


@pytest.fixture
def answers(moto_aws, aws_recorder) -> AwsRecorder:
    """Every call recorded, on moto; Service Quotas and SimulatePrincipalPolicy (moto has neither for
    SageMaker/IAM) answered as each test sets them."""
    return aws_recorder


@pytest.fixture
def deployer(moto_aws, monkeypatch) -> str:
    """Act as an IAM user (moto then answers GetCallerIdentity with its ARN, as AWS does)."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName=DEPLOYER)
    key = iam.create_access_key(UserName=DEPLOYER)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return DEPLOYER_ARN


@pytest.fixture
def execution_role(moto_aws) -> str:
    """The execution role exactly as make create-sagemaker-execution-role makes it."""
    from llm_engineering.aws import connect

    return ensure_execution_role(connect("us-east-1"), ExecutionRoleSpec(name=ROLE)).arn


@pytest.fixture
def scenario(answers, deployer, execution_role, fake_hub) -> AwsRecorder:
    """Everything fine: quota 2 for ml.g5.2xlarge, PassRole allowed, the default model public and readable."""
    answers.quota(2)
    answers.pass_role("allowed")
    fake_hub.add(hub_model(MODEL, parameters=dict(QWEN_7B_PARAMETERS), config=dict(QWEN_7B_CONFIG)))
    return answers
