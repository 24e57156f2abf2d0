"""The staging bucket: found in the endpoint's region, or created there private, encrypted and tagged.

SageMaker downloads model data only from a bucket in the endpoint's own region, so a bucket elsewhere is
refused before anything is uploaded. A new bucket blocks every form of public access, encrypts objects by
default (SSE-S3), carries the tool's tags, and aborts multipart uploads an interrupted stage left behind
after a day, so they stop costing storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from llm_engineering.errors import ConfigurationError, UserFacingError
from llm_engineering.refusals import error_code, is_access_denied, is_not_found
from llm_engineering.tags import tool_tags

ABORT_AFTER_DAYS = 1
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
DEFAULT_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
LIFECYCLE = {
    "Rules": [
        {
            "ID": "abort-incomplete-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_AFTER_DAYS},
        }
    ]
}


class BucketError(ConfigurationError):
    """The bucket cannot hold a stage for this region (another region, another account's, no access)."""


class BucketSetupFailed(UserFacingError):
    """The bucket was created but could not be fully configured: it exists, and the message says so."""


@dataclass(frozen=True)
class BucketState:
    name: str
    region: str | None
    """None: there is no such bucket."""
    warnings: list[str] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.region is not None


def find_bucket(s3: Any, name: str, setting: str) -> BucketState:
    """Where the bucket is, None if it does not exist; `BucketError` when this account cannot use it."""
    try:
        answer = s3.head_bucket(Bucket=name)
    except ClientError as error:
        if is_not_found(error):
            return BucketState(name, None)
        if is_access_denied(error):
            raise BucketError(
                f"{setting}: bucket {name} exists but this account may not use it (HTTP 403: another account's "
                "bucket, or missing s3:ListBucket): choose another bucket name."
            ) from None
        raise
    region = answer.get("BucketRegion") or _location(s3, name)
    return BucketState(name, region)


def _location(s3: Any, name: str) -> str:
    constraint = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def check_region(state: BucketState, region: str, setting: str) -> None:
    """Refuse a bucket outside the endpoint's region (SageMaker would not read it)."""
    if state.region is not None and state.region != region:
        raise BucketError(
            f"{setting}: bucket {state.name} is in {state.region}, but AWS_REGION={region}: SageMaker loads model "
            f"data only from its own region; use a bucket in {region} (a new name creates one)."
        )


def kms_warning(s3: Any, name: str) -> str | None:
    """A warning when an existing bucket encrypts with a KMS key the execution role would also need."""
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError:  # no configuration (moto; AWS always applies SSE-S3 by default) or no permission
        return None
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm", "").startswith("aws:kms") and default.get("KMSMasterKeyID"):
            return (
                f"bucket {name} encrypts with KMS key {default['KMSMasterKeyID']}: the execution role also needs "
                "kms:Decrypt on it, which make create-sagemaker-execution-role does not grant"
            )
    return None


def create_bucket(s3: Any, name: str, region: str) -> list[str]:
    """Create the bucket private, encrypted, tagged and cleaning up stale uploads; one line per change."""
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=name, **extra)
    except ClientError as error:
        if error_code(error) == "BucketAlreadyExists":
            raise BucketError(
                f"S3 bucket {name} already exists in another account (bucket names are global): choose another name."
            ) from None
        raise
    changes = [f"Created S3 bucket {name} in {region}."]
    steps = (
        (
            "blocked all public access",
            lambda: s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK),
        ),
        (
            "default encryption SSE-S3",
            lambda: s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=DEFAULT_ENCRYPTION),
        ),
        ("tagged", lambda: s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tool_tags()})),
        (
            f"aborts incomplete uploads after {ABORT_AFTER_DAYS} day",
            lambda: s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=LIFECYCLE),
        ),
    )
    for label, step in steps:
        try:
            step()
        except ClientError as error:
            raise BucketSetupFailed(
                f"S3 bucket {name} was created but could not be set up ({label}: {error_code(error)}): it exists, "
                f"empty; fix the permission and run make stage-model again, or remove it with aws s3 rb s3://{name}"
            ) from None
        changes.append(f"  {label}")
    return changes
