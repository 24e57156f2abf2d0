"""KMS_KEY_ID: every staged object and the manifest are written with SSE-KMS under that key."""

from __future__ import annotations

import boto3
import pytest
from huggingface_hub import HfApi
from staging_world import BUCKET, SMALL, stage, stage_spec

from llm_engineering.errors import ConfigurationError
from llm_engineering.weights.manifest import MANIFEST_NAME
from llm_engineering.weights.transfer import prepare


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


@pytest.mark.parametrize(
    ("make_key", "message"),
    [
        (lambda kms: "1234abcd-12ab-34cd-56ef-1234567890ab", r"^KMS_KEY_ID=1234abcd-\S+ is not a KMS key in us-east-1"),
        (lambda kms: "alias/modles", r"^KMS_KEY_ID=alias/modles is not a KMS key in us-east-1"),
        (lambda kms: _disabled(kms), r"^KMS_KEY_ID=\S+ is Disabled, not Enabled"),
        (
            lambda kms: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            r"^KMS_KEY_ID names a key in eu-west-1, but the endpoint is in us-east-1",
        ),
    ],
)
def test_a_key_that_cannot_serve_is_refused_before_anything_is_created(aws, hub, recorded, make_key, message):
    """An unknown key, an alias typo, a disabled key and another region's key: checked as deploy checks them."""
    key = make_key(boto3.client("kms", region_name="us-east-1"))
    with pytest.raises(ConfigurationError, match=message):
        stage(aws, hub, stage_spec(KMS_KEY_ID=key))
    assert recorded.writes() == []
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def _disabled(kms) -> str:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key)
    return key


def test_an_alias_is_resolved_and_the_plan_says_sse_kms(aws, hub):
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/models", TargetKeyId=key["KeyId"])
    plan = prepare(aws, HfApi(endpoint=hub), stage_spec(KMS_KEY_ID="alias/models"), SMALL)
    assert plan.encryption == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["Arn"]}
    assert plan.encryption_line == f"SSE-KMS under {key['Arn']} (KMS_KEY_ID)"
    assert prepare(aws, HfApi(endpoint=hub), stage_spec(), SMALL).encryption_line == (
        "the bucket's default (SSE-S3 for a bucket this tool creates)"
    )


def test_restaging_under_another_key_says_so_and_rewrites_every_file(aws, hub):
    kms = boto3.client("kms", region_name="us-east-1")
    first, second = (kms.create_key()["KeyMetadata"] for _ in range(2))
    stage(aws, hub, stage_spec(KMS_KEY_ID=first["Arn"]))
    plan = prepare(aws, HfApi(endpoint=hub), stage_spec(KMS_KEY_ID=second["Arn"]), SMALL)
    assert plan.kept == {}
    assert plan.replaced and all(
        why == f"it is encrypted under KMS key {first['Arn']}, not KMS_KEY_ID's {second['Arn']}"
        for why in plan.replaced.values()
    )
    result = stage(aws, hub, stage_spec(KMS_KEY_ID=second["Arn"]))
    assert result.uploaded and not result.kept
    head = boto3.client("s3", region_name="us-east-1").head_object(
        Bucket=BUCKET, Key=result.location.key("config.json")
    )
    assert head["SSEKMSKeyId"] == second["Arn"]
    again = prepare(aws, HfApi(endpoint=hub), stage_spec(KMS_KEY_ID=second["Arn"]), SMALL)
    assert again.replaced == {} and again.transfer == []
