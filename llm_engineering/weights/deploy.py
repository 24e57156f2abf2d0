"""A deploy from S3: the stage it loads, checked before any SageMaker call, and the container's model source.

SageMaker copies every object under the prefix to /opt/ml/model (`S3DataType: S3Prefix`,
`CompressionType: None`: the files as they are), and the TGI container serves that directory when
HF_MODEL_ID points at it, so the Hub is not involved and no Hub token is sent. What would make the
endpoint fail minutes later is refused here in one line: no bucket, a bucket in another region, no
manifest, objects that differ from it, or an execution role that may not read the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from llm_engineering.aws import Aws
from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.iam.role import role_documents
from llm_engineering.refusals import error_code
from llm_engineering.weights.access import ReadAccess, read_access
from llm_engineering.weights.manifest import MANIFEST_NAME
from llm_engineering.weights.spec import WeightsSource
from llm_engineering.weights.stages import StagedModel, StagedModelProblem, check_files, locate

MODEL_DIR = "/opt/ml/model"
"""Where SageMaker puts the model data, and what HF_MODEL_ID names for TGI to load it from there."""


def model_data_source(location: S3Location) -> dict[str, Any]:
    """`PrimaryContainer.ModelDataSource` for an uncompressed model under a prefix."""
    return {"S3DataSource": {"S3Uri": location.uri, "S3DataType": "S3Prefix", "CompressionType": "None"}}


@dataclass(frozen=True)
class RoleCheck:
    """The execution role's read access to a stage, or why it could not be judged."""

    access: ReadAccess | None
    note: str = ""


def role_read_check(aws: Aws, role_arn: str, staged: StagedModel) -> RoleCheck:
    """Evaluate the role's own policies for the requests SageMaker's download makes (see weights.access)."""
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return RoleCheck(None, f"{role_arn} is not a role ARN")
    partition, name = parts[1], parts[5].rsplit("/", 1)[-1]
    try:
        documents, _, _ = role_documents(aws.client("iam"), name)
    except (ClientError, BotoCoreError) as error:
        code = error_code(error) or type(error).__name__
        return RoleCheck(None, f"the role's policies could not be read ({code})")
    names = [item.name for item in staged.manifest.files] + [MANIFEST_NAME]
    return RoleCheck(read_access(documents, staged.location, names, partition))


ACCESS_FIX = (
    "run make create-sagemaker-execution-role with this setting in place (it grants s3:ListBucket and s3:GetObject "
    "on exactly that prefix)"
)


def access_refusal(role_arn: str, staged: StagedModel, access: ReadAccess, source: WeightsSource) -> StagedModelProblem:
    """The refusal for a role that may not read the stage."""
    first = access.refused[0] if access.refused else "s3:GetObject"
    evidence = f"{source.setting}: the execution role {role_arn} may not read {staged.location.uri} ({first} is denied)"
    return StagedModelProblem("access", evidence, ACCESS_FIX)


def resolve_stage(aws: Aws, source: WeightsSource, role_arn: str) -> StagedModel:
    """The stage to deploy, after the checks that need no SageMaker call; `StagedModelProblem` otherwise."""
    s3 = aws.client("s3")
    staged = locate(s3, source, aws.region)
    check_files(s3, staged)
    check = role_read_check(aws, role_arn, staged)
    if check.access is not None and check.access.decision == "denied":
        raise access_refusal(role_arn, staged, check.access, source)
    return staged
