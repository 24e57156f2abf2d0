"""`make delete-staged-model`: remove one staged model from S3 (its objects and unfinished uploads).

The stage is MODEL_S3_URI, or HF_MODEL_ID (at HF_MODEL_REVISION) found in MODEL_S3_BUCKET, or `--uri`. It is
refused while an endpoint loads it, and for a prefix this tool did not stage; the bucket itself stays.
"""

from __future__ import annotations

from llm_engineering.aws import connect
from llm_engineering.catalogue.s3 import S3Location, model_root
from llm_engineering.cli import ArgumentParser, add_force, echo, run
from llm_engineering.errors import ConfigurationError, UserFacingError
from llm_engineering.settings import Settings, load_settings
from llm_engineering.weights.manifest import size_label
from llm_engineering.weights.stages import delete_stage, find_stage, read_manifest, stage_objects
from llm_engineering.weights.usage import stage_users


class StageInUse(UserFacingError):
    """An endpoint loads the stage: deleting it would break its next start."""


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="delete-staged-model", description="Delete one staged model from S3 (never while an endpoint uses it)."
    )
    parser.add_argument("--uri", help="s3://bucket/prefix/ of the stage (default: from the settings)")
    add_force(parser, "also delete a prefix that holds no stage of this tool")
    return parser


def _location(uri: str | None, settings: Settings, s3: object) -> S3Location | None:
    """The stage to delete; None when the settings name a model with no complete stage (nothing to delete)."""
    if uri:
        try:
            return S3Location.parse(uri)
        except ValueError as error:
            raise ConfigurationError(f"--uri={uri!r} is invalid: {error}.") from None
    if settings.staged_location:
        return settings.staged_location
    if not settings.model_s3_bucket:
        raise ConfigurationError(
            "Which stage? Set MODEL_S3_URI, or MODEL_S3_BUCKET (with HF_MODEL_ID), or pass ARGS=--uri=s3://bucket/prefix/."
        )
    found = find_stage(s3, settings.model_s3_bucket, settings.hf_model_id, settings.hf_model_revision)
    return found.location if found else None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    aws = connect(settings.aws_region, settings.aws_profile)
    s3 = aws.client("s3")
    location = _location(args.uri, settings, s3)
    if location is None:
        root = f"s3://{settings.model_s3_bucket}/{model_root(settings.hf_model_id)}"
        echo(
            f"Nothing to delete: no complete stage of {settings.hf_model_id} under {root} (an incomplete one is "
            "removed with ARGS=--uri=<its prefix>, which make stage-model prints)."
        )
        return 0
    objects = stage_objects(s3, location)
    manifest = read_manifest(s3, location) if objects else None
    if objects and manifest is None and not args.force:
        heads = [s3.head_object(Bucket=location.bucket, Key=location.key(name)) for name in list(objects)[:1]]
        if not any("hub-commit" in (head.get("Metadata") or {}) for head in heads):
            raise ConfigurationError(
                f"{location.uri} holds no stage of this tool (no manifest.json, no staged files): nothing deleted; "
                "pass ARGS=--force to delete its objects anyway."
            )
    users = stage_users(aws.client("sagemaker")).get(location.uri, [])
    if users:
        raise StageInUse(
            f"{location.uri} is loaded by {', '.join(users)}: delete that first (make delete-inference-endpoint), "
            "then run make delete-staged-model again. Nothing was deleted."
        )
    deleted = delete_stage(s3, location)
    if not deleted:
        echo(f"Nothing to delete: no objects under {location.uri}.")
        return 0
    what = f"{manifest.model_id} at {manifest.commit[:12]}" if manifest else "an incomplete stage"
    echo(f"Deleted {len(deleted)} object(s), {size_label(sum(objects.values()))}, of {what} from {location.uri}.")
    echo(f"The bucket {location.bucket} stays (it may hold other stages).")
    return 0


if __name__ == "__main__":
    run(main)
