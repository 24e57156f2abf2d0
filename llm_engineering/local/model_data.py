"""Model data from S3, as SageMaker handles it: checked at CreateModel, copied to /opt/ml/model at start-up.

A model whose `PrimaryContainer.ModelDataSource.S3DataSource` names a prefix:
- CreateModel is refused, as SageMaker refuses it, when the execution role may not list and read the
  prefix or the bucket is missing or in another region (ValidationException "Could not access model data
  at ...", the wording users quote from SageMaker, e.g. github.com/philschmid/llm-sagemaker-sample/issues/2),
  and when an S3Prefix URI does not end with "/" (botocore's documentation of S3DataType; the error
  wording is not verifiable and is the emulator's);
- at start-up the emulated SageMaker copies the prefix with the role: a role that lost access since fails
  the endpoint with "Failed to download model data for container ..." (wording as users report it); then
  the emulated TGI reads config.json from the copy. An empty prefix, or one without config.json or
  safetensors, fails the container with TGI's own errors in its log (`No local weights found in ...`,
  from TGI's `weight_files`; the surrounding traceback lines are representative, not verbatim).
The emulator reads moto's S3 and IAM state directly: it is the same process.

Who may read the data is decided by the emulator's own IAM evaluation (`local/iam_simulation.py`, the one its
policy simulator answers with), never by the tool's: SageMaker downloads an S3Prefix as the execution role,
`s3:ListBucket` on the bucket with the prefix as `s3:prefix` and `s3:GetObject` on every object under it
(Service Authorization Reference, Amazon S3: the `s3:prefix` condition key of ListBucket). The role's inline
and attached policies and its permissions boundary take part; the request context carries the global keys IAM
documents as always in the request (IAM User Guide, "AWS global condition context keys": aws:PrincipalArn,
aws:PrincipalAccount, aws:PrincipalType, aws:RequestedRegion, aws:SecureTransport; aws:ResourceAccount "for
most service actions"), so a condition on any other key does not hold, as on AWS when the request lacks the
key. Bucket policies are not evaluated (the emulator's buckets have none the tool writes).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from moto.s3.models import s3_backends

from llm_engineering.local import image_pull
from llm_engineering.local.iam_simulation import Context, decide, principal_sources
from llm_engineering.local.protocol import AwsError, validation_exception
from llm_engineering.local.security import note_isolation

MODEL_DIR = "/opt/ml/model"
CANNOT_ACCESS = (
    'Could not access model data at {uri}. Please ensure that the role "{role}" exists and that its trust '
    'relationship policy allows the action "sts:AssumeRole" for the service principal "sagemaker.amazonaws.com". '
    'Also ensure that the role has "s3:GetObject" permissions and that the object is located in {region}. If your '
    'Model uses multiple models or uncompressed models, please ensure that the role has "s3:ListBucket" permission.'
)
DOWNLOAD_FAILED = (
    'Failed to download model data for container "container_1" from URL: "{uri}". Please ensure that there is an '
    "object located at the URL and that the role passed to CreateModel has permissions to download the object."
)

Problem = Literal["denied", "empty", "no-weights", "no-config"]


@dataclass(frozen=True)
class ModelData:
    """What SageMaker put into /opt/ml/model for a container, and what is wrong with it."""

    uri: str
    files: tuple[str, ...]
    config: dict[str, Any] | None
    problem: Problem | None = None


def s3_source(container: dict[str, Any] | None) -> dict[str, Any] | None:
    return ((container or {}).get("ModelDataSource") or {}).get("S3DataSource")


def s3_location(uri: str) -> tuple[str, str] | None:
    """(bucket, key prefix) of `s3://<bucket>/<prefix>`; None for any other form. botocore's model gives S3Uri
    the pattern `(https|s3)://([^/]+)/?(.*)`: the https:// form is not emulated, so such data reads as
    inaccessible."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return (bucket, prefix) if bucket else None


def _bucket(account: str, name: str) -> Any:
    return s3_backends[account]["aws"].buckets.get(name)


def _objects(bucket: Any, prefix: str) -> dict[str, Any]:
    return {name.removeprefix(prefix): key for name, key in bucket.keys.items() if name.startswith(prefix)}


def _context(role_arn: str, region: str, account: str) -> Context:
    """What IAM knows of every request the role's session makes to S3 (keys lower case, as `Context` keeps)."""
    return {
        "aws:principalarn": [role_arn],
        "aws:principalaccount": [role_arn.split(":")[4]],
        "aws:principaltype": ["AssumedRole"],
        "aws:requestedregion": [region],
        "aws:resourceaccount": [account],
        "aws:securetransport": ["true"],
    }


def may_download(account: str, region: str, role_arn: str, uri: str) -> bool:
    """Whether the role may list and read every object under `uri`, from a bucket in `region`."""
    location = s3_location(uri)
    bucket = _bucket(account, location[0]) if location else None
    if location is None or bucket is None or bucket.region_name != region:
        return False
    try:
        sources, boundary = principal_sources(role_arn, [])
    except AwsError:  # not a role ARN, or no such role
        return False
    name, prefix = location
    partition = role_arn.split(":")[1]
    context = _context(role_arn, region, account)
    requests = [("s3:ListBucket", f"arn:{partition}:s3:::{name}", {**context, "s3:prefix": [prefix]})]
    for key in list(_objects(bucket, prefix)) or ["config.json"]:  # an empty prefix: what SageMaker reads first
        requests.append(("s3:GetObject", f"arn:{partition}:s3:::{name}/{prefix}{key}", context))
    return all(
        decide(sources, boundary, action, resource, request_context)[0].decision == "allowed"
        for action, resource, request_context in requests
    )


def check_create_model(account: str, region: str, params: dict[str, Any]) -> None:
    """CreateModel's checks of an S3 model data source (ValidationException as SageMaker answers)."""
    source = s3_source(params.get("PrimaryContainer"))
    if source is None:
        return
    uri = source["S3Uri"]
    if source.get("S3DataType") == "S3Prefix" and not uri.endswith("/"):
        raise validation_exception(f"S3Uri {uri} must end with a forward slash (/) when S3DataType is S3Prefix.")
    if not may_download(account, region, params.get("ExecutionRoleArn", ""), uri):
        message = CANNOT_ACCESS.format(uri=uri, role=params.get("ExecutionRoleArn", ""), region=region)
        raise validation_exception(message)


def _create_model(account: str, region: str, params: dict[str, Any]) -> None:
    check_create_model(account, region, params)
    image_pull.check_create_model(params, region)  # the role must be allowed to pull the image (local/image_pull.py)
    note_isolation(account, region, params)  # EnableNetworkIsolation, which moto drops (local/security.py)


PRECHECKS = {"CreateModel": _create_model}
"""SageMaker operations moto answers, checked here first."""


def load(account: str, region: str, model: Any) -> ModelData | None:
    """Copy the model's S3 data as SageMaker would at start-up; None when the model reads the Hub instead."""
    source = s3_source(model.primary_container)
    if source is None:
        return None
    uri = source["S3Uri"]
    if not may_download(account, region, model.execution_role_arn, uri):
        return ModelData(uri, (), None, "denied")
    bucket, prefix = s3_location(uri) or ("", "")
    objects = _objects(_bucket(account, bucket), prefix)
    files = tuple(sorted(objects))
    config = None
    if "config.json" in objects:
        with contextlib.suppress(UnicodeDecodeError, json.JSONDecodeError):
            config = json.loads(objects["config.json"].value)
    if not files:
        return ModelData(uri, files, None, "empty")
    if not any(name.endswith(".safetensors") for name in files):
        return ModelData(uri, files, config, "no-weights")
    if not isinstance(config, dict):
        return ModelData(uri, files, None, "no-config")
    return ModelData(uri, files, config)
