"""Stages that exist: found by their manifest, checked against their objects, read for preflight, listed for
`make status`, removed by `make delete-staged-model`. Nothing here needs the Hub.

A stage counts only with its `manifest.json` (written last), and only in the endpoint's region. Its
parameter count comes from the shards' safetensors headers (two small ranged GETs per shard), its KV-cache
shape from its config.json, so preflight sizes a staged model exactly as it sizes one on the Hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from llm_engineering.aws import paginate
from llm_engineering.catalogue.s3 import S3Location, model_root
from llm_engineering.errors import ConfigurationError
from llm_engineering.hub.safetensors import LENGTH_BYTES, HeaderError, header_length, parameter_counts, parse_header
from llm_engineering.refusals import is_not_found
from llm_engineering.weights.bucket import BucketError, find_bucket
from llm_engineering.weights.checksums import same_checksum
from llm_engineering.weights.manifest import MANIFEST_NAME, Manifest, ManifestError
from llm_engineering.weights.spec import WeightsSource

ProblemKind = Literal["bucket", "region", "manifest", "files", "model", "access"]


class StagedModelProblem(ConfigurationError):
    """The stage a deploy would load cannot serve it: what is wrong (`evidence`), what to do (`fix`), and which
    check failed (`kind`), so preflight shows it as a row and a deploy as one line."""

    def __init__(self, kind: ProblemKind, evidence: str, fix: str) -> None:
        super().__init__(f"{evidence}: {fix}.")
        self.kind, self.evidence, self.fix = kind, evidence, fix


@dataclass(frozen=True)
class StagedModel:
    location: S3Location
    manifest: Manifest


def read_manifest(s3: Any, location: S3Location) -> Manifest | None:
    """The stage's manifest; None when there is none (an incomplete stage, or none at all)."""
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.key(MANIFEST_NAME))["Body"].read()
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    try:
        return Manifest.from_json(body)
    except ManifestError as error:
        where = f"s3://{location.bucket}/{location.key(MANIFEST_NAME)}"
        raise StagedModelProblem("manifest", f"{where} is unreadable ({error})", "run make stage-model again") from None


def stage_objects(s3: Any, location: S3Location) -> dict[str, int]:
    """Every object under the prefix: name (below the prefix) -> size."""
    listed = paginate(s3, "list_objects_v2", "Contents", Bucket=location.bucket, Prefix=location.prefix)
    return {item["Key"].removeprefix(location.prefix): int(item["Size"]) for item in listed}


def file_problems(manifest: Manifest, objects: dict[str, int]) -> list[str]:
    """What differs between the manifest and the objects: missing files, other sizes, objects it does not list."""
    problems = []
    for item in manifest.files:
        if item.name not in objects:
            problems.append(f"{item.name} is missing")
        elif objects[item.name] != item.size:
            problems.append(f"{item.name} has {objects[item.name]} bytes, the manifest {item.size}")
    listed = {item.name for item in manifest.files} | {MANIFEST_NAME}
    problems += [
        f"{name} is not in the manifest (SageMaker would load it too)" for name in objects if name not in listed
    ]
    return problems


def find_stages(s3: Any, bucket: str, root: str) -> list[StagedModel]:
    """Every complete stage under `root` of `bucket`, newest first."""
    found = []
    for item in paginate(s3, "list_objects_v2", "Contents", Bucket=bucket, Prefix=root):
        if item["Key"].endswith("/" + MANIFEST_NAME):
            location = S3Location(bucket, item["Key"].removesuffix(MANIFEST_NAME))
            manifest = read_manifest(s3, location)
            if manifest is not None:
                found.append(StagedModel(location, manifest))
    return sorted(found, key=lambda stage: stage.manifest.staged_at, reverse=True)


def find_stage(s3: Any, bucket: str, model_id: str, revision: str | None) -> StagedModel | None:
    """The newest complete stage of `model_id` at `revision` under the default prefix, if any."""
    stages = [
        stage for stage in find_stages(s3, bucket, model_root(model_id)) if stage.manifest.matches(model_id, revision)
    ]
    return stages[0] if stages else None


def verify(s3: Any, staged: StagedModel) -> list[str]:
    """Every way the objects differ from the manifest, judged by S3's own checksums (nothing is downloaded)."""
    problems = file_problems(staged.manifest, stage_objects(s3, staged.location))
    missing = {problem.split(" ", 1)[0] for problem in problems}
    for item in staged.manifest.files:
        if item.name in missing:
            continue
        head = s3.head_object(Bucket=staged.location.bucket, Key=staged.location.key(item.name), ChecksumMode="ENABLED")
        if not same_checksum(head.get("ChecksumSHA256"), item.s3_checksum):
            problems.append(
                f"{item.name}: S3's checksum {head.get('ChecksumSHA256') or '(none)'} is not the manifest's "
                f"{item.s3_checksum}"
            )
        elif (head.get("Metadata") or {}).get("sha256") != item.sha256:
            problems.append(f"{item.name}: its recorded sha256 is not the manifest's {item.sha256}")
    return problems


def _bucket_usable(s3: Any, source: WeightsSource, region: str) -> None:
    try:
        state = find_bucket(s3, source.bucket, source.setting)
    except BucketError as error:
        raise StagedModelProblem("bucket", str(error).rstrip("."), f"fix {source.setting}") from None
    if state.region is not None and state.region != region:
        raise StagedModelProblem(
            "region",
            f"{source.setting}: bucket {source.bucket} is in {state.region}, the endpoint in {region}, and SageMaker "
            "loads model data only from its own region",
            f"stage the model into a bucket in {region} (make stage-model with MODEL_S3_BUCKET=<a new name>)",
        )
    if not state.exists:
        raise StagedModelProblem(
            "bucket",
            f"{source.described}: bucket {source.bucket} does not exist in this account",
            f"run make stage-model to stage {source.model_id} there, or fix {source.setting}",
        )


def locate(s3: Any, source: WeightsSource, region: str) -> StagedModel:
    """The complete stage a deploy from `source` loads, or `StagedModelProblem` saying what is wrong."""
    _bucket_usable(s3, source, region)
    if source.location is None:
        stage = find_stage(s3, source.bucket, source.model_id, source.revision)
        if stage is None:
            at = f" at HF_MODEL_REVISION={source.revision}" if source.revision else ""
            raise StagedModelProblem(
                "manifest",
                f"{source.described}: no complete stage of {source.model_id}{at} (no manifest.json)",
                "run make stage-model (it resumes an interrupted stage)",
            )
        return stage
    manifest = read_manifest(s3, source.location)
    if manifest is None:
        raise StagedModelProblem(
            "manifest",
            f"MODEL_S3_URI={source.location.uri} has no manifest.json, so no complete stage",
            "run make stage-model (it resumes an interrupted stage), or fix MODEL_S3_URI",
        )
    if not manifest.matches(source.model_id, source.revision):
        asked = source.model_id + (f" at {source.revision}" if source.revision else "")
        raise StagedModelProblem(
            "model",
            f"MODEL_S3_URI={source.location.uri} holds {manifest.model_id} at {manifest.commit[:12]}, but the settings "
            f"ask for {asked}",
            "set HF_MODEL_ID (and HF_MODEL_REVISION) to match, or point MODEL_S3_URI at a stage of that model",
        )
    return StagedModel(source.location, manifest)


def check_files(s3: Any, staged: StagedModel) -> None:
    """`StagedModelProblem` when the objects are not exactly what the manifest lists."""
    problems = file_problems(staged.manifest, stage_objects(s3, staged.location))
    if problems:
        raise StagedModelProblem(
            "files",
            f"{staged.location.uri} does not match its manifest ({'; '.join(problems[:3])})",
            "run make stage-model to repair it (ARGS=--verify shows every difference)",
        )


def _range(s3: Any, location: S3Location, name: str, first: int, last: int) -> bytes:
    answer = s3.get_object(Bucket=location.bucket, Key=location.key(name), Range=f"bytes={first}-{last}")
    return answer["Body"].read()


def read_parameters(s3: Any, staged: StagedModel) -> dict[str, int]:
    """Parameter counts per dtype from every shard's safetensors header; HeaderError or ClientError on failure."""
    headers = []
    for item in staged.manifest.files:
        if not item.name.endswith(".safetensors"):
            continue
        length = header_length(_range(s3, staged.location, item.name, 0, LENGTH_BYTES - 1))
        if LENGTH_BYTES + length > item.size:
            raise HeaderError(f"{item.name}: the header runs past the end of the file")
        headers.append(parse_header(_range(s3, staged.location, item.name, LENGTH_BYTES, LENGTH_BYTES + length - 1)))
    return parameter_counts(headers)


def read_config(s3: Any, staged: StagedModel) -> dict[str, Any] | None:
    """The staged config.json, None when the stage has none or it is not a JSON object."""
    if staged.manifest.file("config.json") is None:
        return None
    body = s3.get_object(Bucket=staged.location.bucket, Key=staged.location.key("config.json"))["Body"].read()
    try:
        config = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return config if isinstance(config, dict) else None


def delete_stage(s3: Any, location: S3Location) -> list[str]:
    """Delete every object under the prefix, manifest first (so a half-deleted stage is never taken for a
    complete one), and abort its unfinished uploads; the names deleted."""
    deleted = []
    names = sorted(stage_objects(s3, location), key=lambda name: name != MANIFEST_NAME)
    for name in names:
        s3.delete_object(Bucket=location.bucket, Key=location.key(name))
        deleted.append(name)
    for upload in paginate(s3, "list_multipart_uploads", "Uploads", Bucket=location.bucket, Prefix=location.prefix):
        s3.abort_multipart_upload(Bucket=location.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        deleted.append(f"{upload['Key'].removeprefix(location.prefix)} (unfinished upload)")
    return deleted
