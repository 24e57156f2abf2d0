"""The emulator's S3 refuses what S3 refuses and moto does not: writes under a KMS key that cannot encrypt, and
the bucket names S3 reserves."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def clients(server_env):
    options = {
        "region_name": "us-east-1",
        "endpoint_url": server_env["AWS_ENDPOINT_URL"],
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return boto3.client("s3", **options), boto3.client("kms", **options)


def sse(key: str) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}


def test_a_put_under_a_missing_or_disabled_key_is_refused_and_nothing_is_written(clients):
    s3, kms = clients
    s3.create_bucket(Bucket="models-1")
    disabled = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=disabled["KeyId"])
    missing = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    other_region = kms.create_key()["KeyMetadata"]["Arn"].replace("us-east-1", "eu-west-1")
    for key, code in (
        (missing, "KMS.NotFoundException"),
        ("alias/modles", "KMS.NotFoundException"),
        (other_region, "KMS.NotFoundException"),
        (disabled["Arn"], "KMS.DisabledException"),
    ):
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="models-1", Key="config.json", Body=b"{}", **sse(key))
        assert refused.value.response["Error"]["Code"] == code, key
        with pytest.raises(ClientError):
            s3.create_multipart_upload(Bucket="models-1", Key="big", **sse(key))
    assert s3.list_objects_v2(Bucket="models-1").get("KeyCount") == 0


def test_a_put_under_an_enabled_key_or_its_alias_is_written(clients):
    s3, kms = clients
    s3.create_bucket(Bucket="models-1")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/models", TargetKeyId=key["KeyId"])
    for given in (key["Arn"], key["KeyId"], "alias/models"):
        s3.put_object(Bucket="models-1", Key="config.json", Body=b"{}", **sse(given))
    s3.put_object(Bucket="models-1", Key="plain.json", Body=b"{}")
    assert s3.list_objects_v2(Bucket="models-1")["KeyCount"] == 2


@pytest.mark.parametrize(
    # (a name ending --x-s3 is a directory bucket to botocore, which sends it elsewhere)
    "name", ["xn--models", "sthree-models", "amzn-s3-demo-models", "models-s3alias", "models--ol-s3"]
)
def test_a_reserved_bucket_name_is_refused(clients, name):
    s3, _ = clients
    with pytest.raises(ClientError) as refused:
        s3.create_bucket(Bucket=name)
    assert refused.value.response["Error"]["Code"] == "InvalidBucketName"
    assert name not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
