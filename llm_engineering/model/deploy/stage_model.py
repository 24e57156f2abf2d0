"""`make stage-model`: copy HF_MODEL_ID at HF_MODEL_REVISION from the Hub into S3, once; `--verify` re-checks.

Deploys then load the weights from S3 (MODEL_S3_URI, or MODEL_SOURCE=s3) instead of the Hub.
"""

from __future__ import annotations

from huggingface_hub import HfApi

from llm_engineering.aws import connect
from llm_engineering.catalogue.prices import PRICE_SOURCE, storage_cost
from llm_engineering.cli import ArgumentParser, echo, fail, run, warn
from llm_engineering.errors import ConfigurationError
from llm_engineering.settings import Settings, load_settings
from llm_engineering.transfer_console import TransferConsole
from llm_engineering.weights import stages
from llm_engineering.weights.manifest import size_label
from llm_engineering.weights.spec import StageSpec
from llm_engineering.weights.transfer import StagePlan, TransferOptions, ensure_bucket, prepare
from llm_engineering.weights.transfer import run as run_stage


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="stage-model",
        description="Copy HF_MODEL_ID from the Hugging Face Hub into S3 (MODEL_S3_URI, or MODEL_S3_BUCKET) once.",
    )
    parser.add_argument(
        "--verify", action="store_true", help="re-check an existing stage against its manifest; upload nothing"
    )
    return parser


def _show_plan(plan: StagePlan) -> None:
    listing = plan.listing
    revision = f" ({listing.revision})" if listing.revision else ""
    echo(f"Staging {listing.model_id} at commit {listing.commit[:12]}{revision} into {plan.location.uri}")
    total = sum(entry.size for entry in plan.selection.files)
    echo(f"  files: {len(plan.selection.files)} to stage ({size_label(total)})")
    for line in plan.selection.summary():
        echo(f"  skipped, {line}")
    if plan.kept:
        echo(f"  already in S3 with the same size and checksum: {len(plan.kept)} file(s), kept")
    for name, why in plan.replaced.items():
        echo(f"  replacing {name}: {why}")
    if plan.transfer:
        echo(
            f"  local disk: needs {size_label(plan.largest)} in {plan.temp_dir} (the largest file; files pass one at "
            f"a time), {size_label(plan.free_bytes)} free"
        )
    echo(f"  encryption: {plan.encryption_line}")
    if not plan.bucket.exists:
        echo(f"  bucket {plan.location.bucket} will be created in {plan.region} (private, encrypted, tagged)")
    for warning in plan.warnings:
        warn(warning)


def _stage(settings: Settings, spec: StageSpec) -> int:
    aws = connect(settings.aws_region, settings.aws_profile)
    options = TransferOptions()
    plan = prepare(aws, HfApi(), spec, options)
    _show_plan(plan)
    for change in ensure_bucket(aws, plan):
        echo(change)
    console = TransferConsole(plan.transfer_bytes)
    try:
        result = run_stage(aws, plan, spec, options, console)
    finally:
        console.finish()
    if result.aborted_uploads:
        echo(f"Aborted {result.aborted_uploads} unfinished upload(s) an interrupted run had left.")
    if result.uploaded:
        rate = result.uploaded_bytes / 1e6 / result.upload_seconds if result.upload_seconds > 0 else 0.0
        echo(
            f"Uploaded {len(result.uploaded)} file(s), {result.uploaded_bytes:,} bytes "
            f"({size_label(result.uploaded_bytes)}) in {result.upload_seconds:.1f} s ({rate:.1f} MB/s); "
            f"{len(result.kept)} already in S3; {result.seconds:.1f} s in all."
        )
    else:
        echo(f"Already staged: nothing uploaded ({len(result.kept)} file(s) in S3 with the same size and checksum).")
    written = "written last" if result.manifest_written else "unchanged"
    echo(f"Manifest {written}: {result.location.uri}manifest.json")
    cost = storage_cost(result.manifest.total_bytes)
    echo(f"Storage: {size_label(result.manifest.total_bytes)}, {cost.monthly()} (S3 Standard, {PRICE_SOURCE}).")
    echo(f"Deploy from it: MODEL_S3_URI={result.location.uri} make deploy-inference-endpoint")
    return 0


def _verify(settings: Settings, spec: StageSpec) -> int:
    aws = connect(settings.aws_region, settings.aws_profile)
    s3 = aws.client("s3")
    if spec.location is not None:
        manifest = stages.read_manifest(s3, spec.location)
        found = stages.StagedModel(spec.location, manifest) if manifest else None
        where = f"MODEL_S3_URI={spec.location.uri}"
    else:
        found = stages.find_stage(s3, spec.bucket, spec.model_id, spec.revision)
        where = f"s3://{spec.bucket}/models/ (for {spec.model_id})"
    if found is None:
        raise ConfigurationError(
            f"{where}: no manifest.json, so no complete stage to verify: run make stage-model (it resumes)."
        )
    problems = stages.verify(s3, found)
    if problems:
        for problem in problems:
            fail(f"{found.location.uri}: {problem}")
        fail("The stage does not match its manifest: run make stage-model to repair it.")
        return 1
    manifest = found.manifest
    echo(
        f"Verified {found.location.uri}: {len(manifest.files)} file(s), {size_label(manifest.total_bytes)} of "
        f"{manifest.model_id} at {manifest.commit[:12]} match the manifest (sizes and S3's SHA-256 checksums)."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    spec = StageSpec.from_settings(settings)
    return _verify(settings, spec) if args.verify else _stage(settings, spec)


if __name__ == "__main__":
    run(main)
