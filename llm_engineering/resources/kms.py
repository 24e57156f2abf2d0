"""The KMS key KMS_KEY_ID names, as KMS describes it, refused before anything is created when it cannot serve:
another region's key, an unknown one, one not Enabled, or one that is not a symmetric ENCRYPT_DECRYPT key
(storage volumes and S3 encrypt with those only). Deploy, the execution role and staging all ask here.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm_engineering.aws import Aws, get_or_none
from llm_engineering.errors import ConfigurationError
from llm_engineering.security_ids import kms_key_region


@dataclass(frozen=True)
class Key:
    """The KMS key KMS_KEY_ID names, as KMS described it."""

    arn: str
    key_id: str
    state: str



def resolve_key(aws: Aws, key_id: str) -> Key:
    """The key, refusing one of another region, an unknown one and one that cannot encrypt now."""
    region = kms_key_region(key_id)
    if region is not None and region != aws.region:
        raise ConfigurationError(
            f"KMS_KEY_ID names a key in {region}, but the endpoint is in {aws.region}: SageMaker uses a key of "
            "the endpoint's region only; use a key (or a multi-Region replica) there. Nothing was created."
        )
    answer = get_or_none(aws.client("kms").describe_key, KeyId=key_id)
    if answer is None:
        raise ConfigurationError(
            f"KMS_KEY_ID={key_id} is not a KMS key in {aws.region} (or not one you may describe): check it with "
            f"aws kms describe-key --key-id {key_id} --region {aws.region}. Nothing was created."
        )
    metadata = answer["KeyMetadata"]
    state = metadata.get("KeyState", "Enabled")
    if state != "Enabled":
        raise ConfigurationError(
            f"KMS_KEY_ID={key_id} is {state}, not Enabled: nothing can be encrypted with it; enable it "
            f"(aws kms enable-key --key-id {metadata['KeyId']}) or use another key. Nothing was created."
        )
    if metadata.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT" or metadata.get(
        "KeySpec", "SYMMETRIC_DEFAULT"
    ) != ("SYMMETRIC_DEFAULT"):
        raise ConfigurationError(
            f"KMS_KEY_ID={key_id} is a {metadata.get('KeySpec')} {metadata.get('KeyUsage')} key: storage volumes "
            "and S3 encrypt with symmetric ENCRYPT_DECRYPT keys only; use one of those. Nothing was created."
        )
    return Key(metadata["Arn"], metadata["KeyId"], state)
