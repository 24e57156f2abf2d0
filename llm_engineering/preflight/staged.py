"""Preflight for a deploy from S3: the stage (manifest, files, bucket region), the role's read access, and the
inputs of the memory fit read from the staged safetensors headers and config.json. No Hub request is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_engineering.aws import Aws
from llm_engineering.hub.safetensors import HeaderError
from llm_engineering.preflight.report import AWS_FAILURES, CheckResult, describe_failure
from llm_engineering.weights.deploy import ACCESS_FIX, role_read_check
from llm_engineering.weights.manifest import size_label
from llm_engineering.weights.spec import WeightsSource
from llm_engineering.weights.stages import (
    StagedModel,
    StagedModelProblem,
    check_files,
    locate,
    read_config,
    read_parameters,
)

STAGE_CHECK = "Staged model"
ACCESS_CHECK = "S3 read access"
NOT_VISIBLE = "bucket policies, permission boundaries and SCPs are not visible to this check"


@dataclass(frozen=True)
class StagedFacts:
    """The two rows, and what the memory fit needs."""

    rows: tuple[CheckResult, CheckResult]
    parameters: dict[str, int] | None = None
    config: dict[str, Any] | None = None
    config_note: str | None = None
    unknown_because: str = "the stage could not be read"


def _stage_row(staged: StagedModel, region: str) -> CheckResult:
    manifest = staged.manifest
    evidence = (
        f"{staged.location.uri}: {manifest.model_id} at commit {manifest.commit[:12]} (staged {manifest.staged_at}); "
        f"{len(manifest.files)} files, {size_label(manifest.total_bytes)}, all present with the manifest's sizes; "
        f"bucket in {region}"
    )
    details = {
        "uri": staged.location.uri,
        "model_id": manifest.model_id,
        "commit": manifest.commit,
        "files": len(manifest.files),
        "bytes": manifest.total_bytes,
    }
    return CheckResult(STAGE_CHECK, "ok", evidence, details=details)


def _access_row(aws: Aws, role_arn: str | None, staged: StagedModel) -> CheckResult:
    if role_arn is None:
        return CheckResult(ACCESS_CHECK, "warning", "not checked: there is no execution role yet", ACCESS_FIX)
    check = role_read_check(aws, role_arn, staged)
    where = staged.location.uri
    if check.access is None:
        return CheckResult(ACCESS_CHECK, "warning", f"not checked for {role_arn}: {check.note}", ACCESS_FIX)
    details = {"role_arn": role_arn, "decision": check.access.decision, "refused": list(check.access.refused)}
    if check.access.decision == "allowed":
        evidence = (
            f"{role_arn} may s3:ListBucket {where} and s3:GetObject its {len(staged.manifest.files) + 1} objects "
            f"(its own policies evaluated; {NOT_VISIBLE})"
        )
        return CheckResult(ACCESS_CHECK, "ok", evidence, details=details)
    listed = ", ".join(check.access.refused[:2])
    if check.access.decision == "denied":
        evidence = f"{role_arn} may not read {where} ({listed} denied): SageMaker would refuse CreateModel"
        return CheckResult(ACCESS_CHECK, "blocked", evidence, ACCESS_FIX, details)
    evidence = f"{role_arn} may read {where} only if conditions this check cannot see hold ({listed})"
    return CheckResult(ACCESS_CHECK, "warning", evidence, "check the role's conditions on those requests", details)


def _memory_inputs(aws: Aws, staged: StagedModel) -> tuple[dict[str, int] | None, dict[str, Any] | None, str]:
    s3 = aws.client("s3")
    try:
        parameters = read_parameters(s3, staged) or None
    except (HeaderError, *AWS_FAILURES) as error:
        return None, None, f"the staged safetensors headers could not be read ({describe_failure(error)})"
    try:
        config = read_config(s3, staged)
    except AWS_FAILURES:
        config = None
    return parameters, config, "the stage has no safetensors headers"


def check_staged(aws: Aws, source: WeightsSource, role_arn: str | None) -> StagedFacts:
    """The stage and access rows (blocked with the fix when the stage cannot serve), and the memory inputs."""
    s3 = aws.client("s3")
    try:
        staged = locate(s3, source, aws.region)
        check_files(s3, staged)
    except StagedModelProblem as problem:
        row = CheckResult(STAGE_CHECK, "blocked", problem.evidence, problem.fix, {"problem": problem.kind})
        skipped = CheckResult(ACCESS_CHECK, "warning", "not checked: there is no complete stage to read")
        return StagedFacts((row, skipped), unknown_because="there is no complete stage to read its headers from")
    except AWS_FAILURES as error:
        row = CheckResult(
            STAGE_CHECK,
            "warning",
            f"{source.described} could not be read ({describe_failure(error)})",
            "allow s3:GetObject and s3:ListBucket on the stage to the caller (make create-sagemaker-role grants it)",
        )
        return StagedFacts((row, CheckResult(ACCESS_CHECK, "warning", "not checked: the stage could not be read")))
    parameters, config, unknown = _memory_inputs(aws, staged)
    note = None if config else "the stage has no readable config.json"
    rows = (_stage_row(staged, aws.region), _access_row(aws, role_arn, staged))
    return StagedFacts(rows, parameters, config, note, unknown)
