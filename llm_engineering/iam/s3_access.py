"""S3 grants for staged model weights, as pure policy statements.

The execution role reads a staged model through SageMaker's S3Prefix download: `s3:ListBucket` on the
bucket for exactly that prefix (`s3:prefix` condition) and `s3:GetObject` on the objects under it, nothing
else of the bucket. A bare bucket name (EXECUTION_ROLE_S3_BUCKETS as it was) still grants the whole
bucket, so existing settings keep working. The deployer gets what staging, deploying from S3, `make status`
and `make delete-staged-model` call, on the staging prefixes only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from llm_engineering.catalogue.s3 import S3Location

Statement = dict[str, Any]

STAGE_READ_ACTIONS: tuple[str, ...] = ("s3:GetObject",)
STAGE_WRITE_ACTIONS: tuple[str, ...] = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
STAGE_BUCKET_ACTIONS: tuple[str, ...] = (
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketLocation",
    "s3:CreateBucket",
    "s3:PutBucketTagging",
    "s3:GetBucketTagging",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutEncryptionConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
)
"""Bucket-level actions of `make stage-model` (create and configure the bucket) and of listing stages."""


def split_grants(entries: Iterable[str]) -> tuple[list[str], list[S3Location]]:
    """EXECUTION_ROLE_S3_BUCKETS-style entries as (whole buckets, prefixes): `bucket` or `bucket/prefix`."""
    buckets: list[str] = []
    prefixes: list[S3Location] = []
    for entry in entries:
        if "/" in entry.strip("/"):
            prefixes.append(S3Location.parse(f"s3://{entry}"))
        else:
            buckets.append(entry.strip("/"))
    return buckets, prefixes


def _by_bucket(prefixes: Iterable[S3Location]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for location in prefixes:
        listed = grouped.setdefault(location.bucket, [])
        if location.prefix not in listed:
            listed.append(location.prefix)
    return grouped


def execution_role_s3_statements(
    partition: str, buckets: Sequence[str], prefixes: Sequence[S3Location]
) -> list[Statement]:
    """Read access for the container: whole `buckets` (as before), and each prefix and nothing around it."""
    statements: list[Statement] = []
    if buckets:
        statements += [
            {
                "Sid": "ListModelBuckets",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": [f"arn:{partition}:s3:::{bucket}" for bucket in buckets],
            },
            {
                "Sid": "ReadModelObjects",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"arn:{partition}:s3:::{bucket}/*" for bucket in buckets],
            },
        ]
    grouped = _by_bucket(prefixes)
    for number, (bucket, keys) in enumerate(grouped.items(), start=1):
        statements.append(
            {
                "Sid": f"ListStagedModel{number}",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [pattern for key in keys for pattern in (key, key + "*")]}},
            }
        )
    if grouped:
        statements.append(
            {
                "Sid": "ReadStagedModel",
                "Effect": "Allow",
                "Action": list(STAGE_READ_ACTIONS),
                "Resource": [location.objects_arn(partition) for location in _unique(prefixes)],
            }
        )
    return statements


def deployer_s3_statements(partition: str, roots: Sequence[S3Location]) -> list[Statement]:
    """Stage, read, list and delete staged models under `roots` (the staging prefixes) and nowhere else."""
    if not roots:
        return []
    buckets = sorted({location.bucket for location in roots})
    return [
        {
            "Sid": "StagingBuckets",
            "Effect": "Allow",
            "Action": list(STAGE_BUCKET_ACTIONS),
            "Resource": [f"arn:{partition}:s3:::{bucket}" for bucket in buckets],
        },
        {
            "Sid": "StagedModelObjects",
            "Effect": "Allow",
            "Action": [*STAGE_READ_ACTIONS, *STAGE_WRITE_ACTIONS],
            "Resource": [location.objects_arn(partition) for location in _unique(roots)],
        },
    ]


def _unique(locations: Iterable[S3Location]) -> list[S3Location]:
    seen: list[S3Location] = []
    for location in locations:
        if location not in seen:
            seen.append(location)
    return seen
