"""`make stage-model`: copy a Hub model into S3 once, file by file, resumable, manifest last.

`prepare()` decides everything before anything exists in AWS: the commit, the files (and why the others
are left out), the bucket (in the endpoint's region), what is already in S3 with the same size and
checksum, and whether the temporary directory holds the largest file. `run()` then creates the bucket if
needed, streams each remaining file through the temporary directory into S3 with boto3's transfer manager
(multipart, concurrent, checksummed), deletes it locally, and writes `manifest.json` last. Interrupted or
failed, it says what is in S3 and that the stage has no manifest yet; the next run resumes.

boto3 and s3transfer are imported here only: this module is on the staging path, never on the client's.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import BotoCoreError, ClientError
from huggingface_hub import HfApi
from s3transfer.subscribers import BaseSubscriber
from s3transfer.utils import ChunksizeAdjuster

from llm_engineering.aws import Aws, paginate
from llm_engineering.catalogue.s3 import S3Location, default_location
from llm_engineering.errors import ConfigurationError, UserFacingError
from llm_engineering.hub.files import DownloadFailed, HubListing, download, list_repository
from llm_engineering.hub.tokens import hub_token
from llm_engineering.redaction import scrub
from llm_engineering.resources.kms import Key, resolve_key
from llm_engineering.weights.bucket import BucketState, check_region, create_bucket, find_bucket, kms_warning
from llm_engineering.weights.checksums import Digest, Digester, same_checksum
from llm_engineering.weights.manifest import MANIFEST_NAME, Manifest, StagedFile
from llm_engineering.weights.selection import INDEX, HubEntry, Selection, missing_shards, select
from llm_engineering.weights.spec import StageSpec
from llm_engineering.weights.stages import read_manifest, stage_objects

MiB = 1024 * 1024
META_SHA256 = "sha256"
META_CHECKSUM = "s3-checksum"
META_BLOB = "hub-blob-id"
META_COMMIT = "hub-commit"


@dataclass(frozen=True)
class TransferOptions:
    """How files go up: multipart above `threshold`, in parts of `part_size`, `concurrency` at a time."""

    threshold: int = 64 * MiB
    part_size: int = 64 * MiB
    concurrency: int = 8
    temp_dir: Path | None = None
    """Where files wait between download and upload (default: TMPDIR)."""

    def config(self) -> TransferConfig:
        return TransferConfig(
            multipart_threshold=self.threshold, multipart_chunksize=self.part_size, max_concurrency=self.concurrency
        )

    def parts_of(self, size: int) -> int | None:
        """The part size the transfer manager uses for a file of `size` bytes; None for a single request."""
        if size < self.threshold:
            return None
        return ChunksizeAdjuster().adjust_chunksize(self.part_size, size)


class StageReporter(Protocol):
    """Where staging reports progress (drawn by `llm_engineering.transfer_console`)."""

    def begin_file(self, name: str, size: int, action: Literal["download", "upload"]) -> None: ...

    def advance(self, nbytes: int, *, upload: bool) -> None: ...

    def end_file(self, name: str, outcome: str) -> None: ...


class StageStopped(UserFacingError):
    """Staging stopped before the manifest was written; the message says what is in S3 and how to go on."""

    def __init__(self, reason: str, location: S3Location, in_s3: int, total: int, interrupted: bool) -> None:
        super().__init__(
            f"{reason}. No manifest.json was written: {location.uri} holds {in_s3} of {total} file(s) and is not a "
            "complete stage (no deploy will load it). Run make stage-model again to resume, or remove it with "
            f"make delete-staged-model ARGS=--uri={location.uri}"
        )
        self.exit_code = 130 if interrupted else 1


@dataclass
class StagePlan:
    """Everything decided before anything is created."""

    listing: HubListing
    selection: Selection
    location: S3Location
    bucket: BucketState
    region: str
    kept: dict[str, StagedFile]
    """Files already in S3 with the same size and checksum: not transferred again."""
    replaced: dict[str, str]
    """Files in S3 that differ, and how."""
    transfer: list[HubEntry]
    previous: Manifest | None
    temp_dir: Path
    free_bytes: int
    warnings: list[str] = field(default_factory=list)
    key: Key | None = None
    """The KMS key KMS_KEY_ID names, as KMS described it (None: the bucket's default encryption)."""

    @property
    def encryption(self) -> dict[str, str]:
        """The upload arguments of SSE-KMS under the key (empty: the bucket's default encryption)."""
        return sse_kms(self.key.arn if self.key else None)

    @property
    def encryption_line(self) -> str:
        """What encrypts the objects written, for the plan."""
        if self.key is None:
            return "the bucket's default (SSE-S3 for a bucket this tool creates)"
        return f"SSE-KMS under {self.key.arn} (KMS_KEY_ID)"

    @property
    def largest(self) -> int:
        return max((entry.size for entry in self.transfer), default=0)

    @property
    def transfer_bytes(self) -> int:
        return sum(entry.size for entry in self.transfer)


@dataclass
class StageResult:
    location: S3Location
    manifest: Manifest
    uploaded: list[str]
    kept: list[str]
    uploaded_bytes: int
    upload_seconds: float
    seconds: float
    bucket_changes: list[str]
    aborted_uploads: int
    manifest_written: bool


def kept_file(entry: HubEntry, head: dict[str, Any]) -> tuple[StagedFile | None, str]:
    """The object as a staged file when it is `entry` (same size, checksums agree), else why it is not."""
    metadata = head.get("Metadata") or {}
    if int(head.get("ContentLength", -1)) != entry.size:
        return None, f"{head.get('ContentLength')} bytes in S3, {entry.size} on the Hub"
    if entry.sha256 is not None and metadata.get(META_SHA256) != entry.sha256:
        return None, "its sha256 differs from the Hub's"
    if entry.sha256 is None and metadata.get(META_BLOB) != entry.blob_id:
        return None, "it is not the Hub's version of the file"
    expected = metadata.get(META_CHECKSUM, "")
    if not metadata.get(META_SHA256) or not same_checksum(head.get("ChecksumSHA256"), expected):
        return None, "S3's checksum of the object does not match the one recorded at upload"
    return StagedFile(entry.name, entry.size, metadata[META_SHA256], expected), ""


def _encryption_differs(head: dict[str, Any], key: Key | None) -> str:
    """Why an object that is otherwise the Hub's file must be written again: another key encrypts it than the
    one KMS_KEY_ID names (without KMS_KEY_ID, whatever encrypts it is kept)."""
    if key is None:
        return ""
    if head.get("ServerSideEncryption") != "aws:kms":
        return f"it is encrypted with {head.get('ServerSideEncryption', 'SSE-S3')}, not under KMS_KEY_ID's key"
    if head.get("SSEKMSKeyId") not in (key.arn, key.key_id):
        return f"it is encrypted under KMS key {head.get('SSEKMSKeyId')}, not KMS_KEY_ID's {key.arn}"
    return ""


def _existing(
    s3: Any, plan_location: S3Location, selection: Selection, listing: HubListing, key: Key | None
) -> tuple[dict[str, StagedFile], dict[str, str], Manifest | None]:
    """What the prefix already holds of this stage; refuses a prefix holding something else."""
    objects = stage_objects(s3, plan_location)
    previous = read_manifest(s3, plan_location) if MANIFEST_NAME in objects else None
    if previous is not None and (previous.model_id, previous.commit) != (listing.model_id, listing.commit):
        raise ConfigurationError(
            f"MODEL_S3_URI={plan_location.uri} already holds a stage of {previous.model_id} at "
            f"{previous.commit[:12]}: stage {listing.model_id} into another prefix, or remove that one first "
            "(make delete-staged-model)."
        )
    wanted = {entry.name for entry in selection.files} | {MANIFEST_NAME}
    strays = sorted(name for name in objects if name not in wanted)
    if strays:
        raise ConfigurationError(
            f"MODEL_S3_URI={plan_location.uri} holds {len(strays)} object(s) that are not part of this stage "
            f"({', '.join(strays[:3])}): SageMaker would load them too; choose an empty prefix or remove them."
        )
    kept: dict[str, StagedFile] = {}
    replaced: dict[str, str] = {}
    for entry in selection.files:
        if entry.name in objects:
            head = s3.head_object(
                Bucket=plan_location.bucket, Key=plan_location.key(entry.name), ChecksumMode="ENABLED"
            )
            staged, why = kept_file(entry, head)
            why = why or _encryption_differs(head, key)
            if staged is None or why:
                replaced[entry.name] = why
            else:
                kept[entry.name] = staged
    return kept, replaced, previous


def _check_disk(temp_dir: Path, largest: int) -> int:
    free = shutil.disk_usage(temp_dir).free
    if largest > free:
        raise ConfigurationError(
            f"TMPDIR={temp_dir} has {free / 1e9:.1f} GB free, but the largest file to stage takes "
            f"{largest / 1e9:.1f} GB: point TMPDIR at a disk with room (files pass through it one at a time)."
        )
    return free


def prepare(aws: Aws, api: HfApi, spec: StageSpec, options: TransferOptions) -> StagePlan:
    """Decide what a stage does, with every refusal (one line, exit 2) before anything is created."""
    key = resolve_key(aws, spec.kms_key_id) if spec.kms_key_id else None  # as deploy checks it, before the Hub
    listing = list_repository(api, spec.model_id, spec.revision, hub_token(spec.token))
    selection = select(listing.entries, spec.model_id, spec.trust_remote_code)
    location = spec.location or default_location(spec.bucket, listing.model_id, listing.commit)
    setting = "MODEL_S3_URI" if spec.location else "MODEL_S3_BUCKET"
    s3 = aws.client("s3")
    bucket = find_bucket(s3, spec.bucket, setting)
    check_region(bucket, aws.region, setting)
    kept: dict[str, StagedFile] = {}
    replaced: dict[str, str] = {}
    previous = None
    warnings = []
    if bucket.exists:
        kept, replaced, previous = _existing(s3, location, selection, listing, key)
        warning = kms_warning(s3, spec.bucket)
        warnings += [warning] if warning else []
    transfer = [entry for entry in selection.files if entry.name not in kept]
    temp_dir = Path(options.temp_dir or tempfile.gettempdir())
    free = _check_disk(temp_dir, max((entry.size for entry in transfer), default=0))
    return StagePlan(
        listing, selection, location, bucket, aws.region, kept, replaced, transfer, previous, temp_dir, free, warnings,
        key=key,
    )


def sse_kms(key_id: str | None) -> dict[str, str]:
    """S3's server-side encryption arguments for `key_id` (id, ARN or alias), none without a key."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id} if key_id else {}


class _Progress(BaseSubscriber):
    """Forwards the transfer manager's byte counts (from its worker threads) to the reporter."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        self._advance = advance

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        self._advance(bytes_transferred)


def _check_uploaded(s3: Any, location: S3Location, entry: HubEntry, digest: Digest) -> None:
    head = s3.head_object(Bucket=location.bucket, Key=location.key(entry.name), ChecksumMode="ENABLED")
    if int(head["ContentLength"]) != entry.size or not same_checksum(head.get("ChecksumSHA256"), digest.s3_checksum):
        raise DownloadFailed(
            f"S3 reports {head['ContentLength']} bytes and checksum {head.get('ChecksumSHA256')} for {entry.name}, "
            f"expected {entry.size} bytes and {digest.s3_checksum}: the upload did not arrive intact"
        )


def _stage_file(
    s3: Any,
    manager: Any,
    plan: StagePlan,
    entry: HubEntry,
    work: Path,
    options: TransferOptions,
    reporter: StageReporter,
    token: Any,
) -> tuple[StagedFile, float]:
    """Download one file, upload it, check S3 has it intact, delete it locally; (the staged file, upload s)."""
    path = work / "file"
    reporter.begin_file(entry.name, entry.size, "download")
    digester = Digester(options.parts_of(entry.size))
    download(plan.listing, entry, token, path, digester, lambda count: reporter.advance(count, upload=False))
    if entry.name == INDEX:
        missing = missing_shards(path.read_bytes(), [item.name for item in plan.listing.entries])
        if missing:
            raise DownloadFailed(f"{INDEX} names shards the repository lacks: {', '.join(missing[:3])}")
    digest = digester.result()
    metadata = {
        META_SHA256: digest.sha256,
        META_CHECKSUM: digest.s3_checksum,
        META_BLOB: entry.blob_id,
        META_COMMIT: plan.listing.commit,
    }
    reporter.begin_file(entry.name, entry.size, "upload")
    started = time.monotonic()
    manager.upload(
        str(path),
        plan.location.bucket,
        plan.location.key(entry.name),
        extra_args={"ChecksumAlgorithm": "SHA256", "Metadata": metadata, **plan.encryption},
        subscribers=[_Progress(lambda count: reporter.advance(count, upload=True))],
    ).result()
    seconds = time.monotonic() - started
    _check_uploaded(s3, plan.location, entry, digest)
    path.unlink()
    return StagedFile(entry.name, entry.size, digest.sha256, digest.s3_checksum), seconds


def _abort_leftovers(s3: Any, location: S3Location) -> int:
    """Abort unfinished multipart uploads under the prefix (left by a killed run): they cost storage."""
    uploads = list(paginate(s3, "list_multipart_uploads", "Uploads", Bucket=location.bucket, Prefix=location.prefix))
    for upload in uploads:
        s3.abort_multipart_upload(Bucket=location.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    return len(uploads)


def _write_manifest(s3: Any, plan: StagePlan, files: dict[str, StagedFile]) -> tuple[Manifest, bool]:
    manifest = Manifest(
        model_id=plan.listing.model_id,
        commit=plan.listing.commit,
        revision=plan.listing.revision,
        files=tuple(files[name] for name in sorted(files)),
        skipped=tuple(name for name, _ in plan.selection.skipped),
        staged_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if plan.previous is not None and plan.previous.same_content(manifest):
        return plan.previous, False
    s3.put_object(
        Bucket=plan.location.bucket,
        Key=plan.location.key(MANIFEST_NAME),
        Body=manifest.to_json(),
        ContentType="application/json",
        ChecksumAlgorithm="SHA256",
        **plan.encryption,
    )
    return manifest, True


def ensure_bucket(aws: Aws, plan: StagePlan) -> list[str]:
    """Create the planned bucket if it does not exist yet; one line per change (none: it existed)."""
    if plan.bucket.exists:
        return []
    changes = create_bucket(aws.client("s3"), plan.location.bucket, plan.region)
    plan.bucket = BucketState(plan.bucket.name, plan.region)
    return changes


def run(aws: Aws, plan: StagePlan, spec: StageSpec, options: TransferOptions, reporter: StageReporter) -> StageResult:
    """Carry out the plan: bucket, files, then the manifest. `StageStopped` says what exists if it stops."""
    started = time.monotonic()
    s3 = aws.client("s3")
    changes = ensure_bucket(aws, plan)
    aborted = _abort_leftovers(s3, plan.location)
    files = dict(plan.kept)
    uploaded: list[str] = []
    seconds = 0.0
    token = hub_token(spec.token)
    total = len(plan.selection.files)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="llm-engineering-stage-", dir=plan.temp_dir) as work,
            create_transfer_manager(s3, options.config()) as manager,
        ):
            for entry in plan.transfer:
                staged, took = _stage_file(s3, manager, plan, entry, Path(work), options, reporter, token)
                files[entry.name], seconds = staged, seconds + took
                uploaded.append(entry.name)
                reporter.end_file(entry.name, "uploaded")
    except KeyboardInterrupt:
        raise StageStopped("Interrupted", plan.location, len(files), total, True) from None
    except (DownloadFailed, ClientError, BotoCoreError) as error:
        reason = scrub(f"Staging stopped: {error}", [token.get_secret_value()] if token else [])
        raise StageStopped(reason, plan.location, len(files), total, False) from None
    manifest, written = _write_manifest(s3, plan, files)
    return StageResult(
        location=plan.location,
        manifest=manifest,
        uploaded=uploaded,
        kept=sorted(plan.kept),
        uploaded_bytes=sum(files[name].size for name in uploaded),
        upload_seconds=seconds,
        seconds=time.monotonic() - started,
        bucket_changes=changes,
        aborted_uploads=aborted,
        manifest_written=written,
    )
