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
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.iam.policies import parse_document
from llm_engineering.local.protocol import validation_exception
from llm_engineering.local.security import note_isolation
from llm_engineering.weights.access import read_access

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


def _bucket(account: str, name: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"].buckets.get(name)


def _role_documents(account: str, role_arn: str) -> list[dict[str, Any]] | None:
    """The role's inline and attached policy documents; None when there is no such role."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["global"]
    name = role_arn.rsplit("/", 1)[-1]
    role = next((role for role in backend.roles.values() if role.name == name), None)
    if role is None:
        return None
    documents = [parse_document(document) for document in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next(item for item in policy.versions if item.version_id == policy.default_version_id)
        documents.append(parse_document(version.document))
    return documents


def _objects(bucket: Any, prefix: str) -> dict[str, Any]:
    return {name.removeprefix(prefix): key for name, key in bucket.keys.items() if name.startswith(prefix)}


def may_download(account: str, region: str, role_arn: str, uri: str) -> bool:
    """Whether the role may list and read every object under `uri`, from a bucket in `region`."""
    location = S3Location.parse(uri)
    bucket = _bucket(account, location.bucket)
    if bucket is None or bucket.region_name != region:
        return False
    documents = _role_documents(account, role_arn)
    if documents is None:
        return False
    names = list(_objects(bucket, location.prefix)) or ["config.json"]
    return read_access(documents, location, names, role_arn.split(":")[1]).decision != "denied"


def check_create_model(account: str, region: str, params: dict[str, Any]) -> None:
    """CreateModel's checks of an S3 model data source (ValidationException as SageMaker answers)."""
    source = s3_source(params.get("PrimaryContainer"))
    if source is None:
        return
    uri = source["S3Uri"]
    if source.get("S3DataType") == "S3Prefix" and not uri.endswith("/"):
        raise validation_exception(f"S3Uri {uri} must end with a forward slash (/) when S3DataType is S3Prefix.")
    try:
        readable = may_download(account, region, params.get("ExecutionRoleArn", ""), uri)
    except ValueError:
        readable = False
    if not readable:
        message = CANNOT_ACCESS.format(uri=uri, role=params.get("ExecutionRoleArn", ""), region=region)
        raise validation_exception(message)


def _create_model(account: str, region: str, params: dict[str, Any]) -> None:
    check_create_model(account, region, params)
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
    location = S3Location.parse(uri)
    objects = _objects(_bucket(account, location.bucket), location.prefix)
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
