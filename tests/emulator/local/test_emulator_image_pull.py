"""The emulated SageMaker pulls a model's image as its execution role: CreateModel is refused when the role may
not pull from the image's ECR repository."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

DLC = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
)
FOREIGN = "111122223333.dkr.ecr.us-east-1.amazonaws.com/team/tgi-custom:3.3.6"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
PULL_FROM_DLC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "Resource": "arn:aws:ecr:us-east-1:763104351884:repository/*",
        },
    ],
}


@pytest.fixture
def clients(server_env):
    options = {
        "region_name": "us-east-1",
        "endpoint_url": server_env["AWS_ENDPOINT_URL"],
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    iam = boto3.client("iam", **options)
    role = iam.create_role(RoleName="pull-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="pull-role", PolicyName="pull", PolicyDocument=json.dumps(PULL_FROM_DLC))
    return boto3.client("sagemaker", **options), iam, role


def create_model(sagemaker, role: str, image: str, name: str = "m") -> dict:
    container = {"Image": image, "Environment": {"HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"}}
    return sagemaker.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer=container)


def test_the_deep_learning_containers_image_is_pulled_and_another_accounts_is_refused(clients):
    sagemaker, _, role = clients
    create_model(sagemaker, role, DLC)
    with pytest.raises(ClientError) as refused:
        create_model(sagemaker, role, FOREIGN, name="custom")
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(f"The execution role {role} may not pull the image {FOREIGN}: ecr:BatchGetImage")
    assert [model["ModelName"] for model in sagemaker.list_models()["Models"]] == ["m"]


def test_a_grant_on_the_repository_lets_the_image_be_pulled(clients):
    sagemaker, iam, role = clients
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/team/tgi-custom",
            }
        ],
    }
    iam.put_role_policy(RoleName="pull-role", PolicyName="custom", PolicyDocument=json.dumps(grant))
    create_model(sagemaker, role, FOREIGN, name="custom")
