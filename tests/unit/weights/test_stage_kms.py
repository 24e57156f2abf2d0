"""KMS_KEY_ID: every staged object and the manifest are written with SSE-KMS under that key."""

from __future__ import annotations

import boto3
from staging_world import BUCKET, stage, stage_spec

from llm_engineering.weights.manifest import MANIFEST_NAME


def test_every_write_of_a_stage_names_the_key(aws, hub, recorded):
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]
    result = stage(aws, hub, stage_spec(KMS_KEY_ID=key["Arn"]))
    creates = [params for operation, params in recorded.writes() if operation in ("PutObject", "CreateMultipartUpload")]
    assert creates and all(
        (params["ServerSideEncryption"], params["SSEKMSKeyId"]) == ("aws:kms", key["Arn"]) for params in creates
    )
    s3 = boto3.client("s3", region_name="us-east-1")
    for name in ("config.json", "model-00001-of-00002.safetensors", MANIFEST_NAME):
        head = s3.head_object(Bucket=BUCKET, Key=result.location.key(name))
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key["Arn"]), name


def test_without_a_key_the_bucket_default_applies(aws, hub, recorded):
    stage(aws, hub)
    creates = [params for operation, params in recorded.writes() if operation in ("PutObject", "CreateMultipartUpload")]
    assert creates and not [params for params in creates if "SSEKMSKeyId" in params]
