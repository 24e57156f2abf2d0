"""IAM's access advisor on the emulator: a completed job built from the requests the emulator has seen."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_clients import IMAGE, Aws

USER = "advisor-user"
ROLE = "advisor-role"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:ListEndpoints", "sagemaker:CreateModel"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"},
    ],
}


def _as_user(aws: Aws, service: str):
    iam = aws.client("iam")
    iam.create_user(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    return boto3.client(
        service,
        endpoint_url=aws.url,
        region_name="eu-west-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def _job(aws: Aws, arn: str, granularity: str = "ACTION_LEVEL") -> dict:
    iam = aws.client("iam")
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity=granularity)["JobId"]
    return iam.get_service_last_accessed_details(JobId=job)


def test_the_services_a_user_called_are_last_accessed_and_the_others_never(aws):
    _as_user(aws, "sagemaker").list_endpoints()
    iam = aws.client("iam")
    arn = iam.get_user(UserName=USER)["User"]["Arn"]
    answer = _job(aws, arn)
    assert answer["JobStatus"] == "COMPLETED" and answer["JobType"] == "ACTION_LEVEL"
    rows = {row["ServiceNamespace"]: row for row in answer["ServicesLastAccessed"]}
    assert set(rows) == {"sagemaker", "s3", "logs"}
    assert rows["sagemaker"]["LastAuthenticatedRegion"] == "eu-west-1"
    assert rows["sagemaker"]["LastAuthenticatedEntity"] == arn and "LastAuthenticated" in rows["sagemaker"]
    assert "LastAuthenticated" not in rows["logs"] and "LastAuthenticated" not in rows["s3"]
    assert rows["s3"]["TrackedActionsLastAccessed"] == []  # S3's actions are tracked, none was used


def test_a_model_created_with_a_role_counts_as_the_roles_image_pull_and_logs(aws):
    iam = aws.client("iam")
    arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                    "logs:PutLogEvents",
                    "s3:GetObject",
                ],
                "Resource": "*",
            }
        ],
    }
    iam.put_role_policy(RoleName=ROLE, PolicyName="p", PolicyDocument=json.dumps(document))
    aws.sagemaker.create_model(ModelName="m", ExecutionRoleArn=arn, PrimaryContainer={"Image": IMAGE})
    rows = {row["ServiceNamespace"]: row for row in _job(aws, arn)["ServicesLastAccessed"]}
    assert "LastAuthenticated" in rows["ecr"] and "LastAuthenticated" in rows["logs"]
    assert "LastAuthenticated" not in rows["s3"]


def test_an_unknown_job_or_principal_is_refused(aws):
    iam = aws.client("iam")
    with pytest.raises(ClientError) as refused:
        iam.get_service_last_accessed_details(JobId="0" * 36)
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as refused:
        iam.generate_service_last_accessed_details(Arn="arn:aws:iam::123456789012:user/nobody")
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"
