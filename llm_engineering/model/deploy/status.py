"""`make status`: every endpoint this tool created in the region, what it runs and what it has cost so far.

The guard against the forgotten GPU bill: one command lists what is billing, found by tags, with the
command that removes it, and how many other endpoints (not this tool's) bill in the region beside them; it
never says "nothing is billing" while any endpoint runs. It also lists the models staged in S3
(MODEL_S3_BUCKET / MODEL_S3_URI), which cost storage until deleted. Light on purpose: no SageMaker SDK
import, a few Describe/List calls.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from llm_engineering.aws import Aws, connect
from llm_engineering.catalogue.prices import PRICE_SOURCE, storage_cost
from llm_engineering.cli import ArgumentParser, describe_client_error, echo, run, warn
from llm_engineering.hosting.inventory import EndpointSummary, RegionEndpoints, region_endpoints
from llm_engineering.hosting.scaling_status import scaling_lines
from llm_engineering.settings import Settings, load_settings
from llm_engineering.statuses import Status, described
from llm_engineering.weights.manifest import size_label


def _show(item: EndpointSummary) -> None:
    cost = (
        f"{item.cost.hourly()}, USD {item.usd_so_far:.2f} so far ({PRICE_SOURCE})"
        if item.cost is not None and item.usd_so_far is not None
        else "price unknown"
    )
    echo(f"  {item.name}: {described(Status(item.status))}, {item.kind}, {item.model_id} on {item.instances}")
    echo(f"    up {item.hours:.1f} h, {cost}")
    if item.engine:
        echo(f"    engine {item.engine}")
    for component in item.components:
        echo(f"    component {component}")
    echo(f"    delete: make delete-inference-endpoint ENDPOINT_NAME={item.name}")


# --- Time limit (ENDPOINT_TTL) ---
def _time_limit(aws: Aws, item: EndpointSummary) -> None:
    """When the endpoint deletes itself, and what it will have cost by then."""
    from datetime import UTC, datetime

    from llm_engineering.durations import describe
    from llm_engineering.hosting.ttl import expiry

    try:
        when = expiry(aws, item.name)
    except ClientError as error:  # no scheduler permission must not hide the endpoints
        warn(f"the time limit of {item.name} could not be read ({describe_client_error(error)})")
        return
    if when is None:
        echo("    no time limit: it bills until deleted (make extend-ttl TTL=4h sets one)")
        return
    left = when - datetime.now(UTC)
    cost = f", about USD {item.cost.after(item.hours + left.total_seconds() / 3600):.2f} by then" if item.cost else ""
    echo(
        f"    deletes itself at {when:%Y-%m-%d %H:%M} UTC, in {describe(left)}{cost} "
        f"(make extend-ttl ENDPOINT_NAME={item.name} TTL=2h moves it)"
    )


def _others(found: RegionEndpoints, region: str) -> None:
    if found.others:
        count = len(found.others)
        echo(
            f"{count} other endpoint{'s' if count != 1 else ''} in {region} (not created by this tool) bill"
            f"{'s' if count == 1 else ''} too: {', '.join(found.others)} "
            f"(aws sagemaker list-endpoints --region {region})."
        )


def _configured(settings: Settings, found: RegionEndpoints, region: str) -> None:
    """The endpoint the settings (SAGEMAKER_ENDPOINT_INFERENCE / ENDPOINT_NAME) name, when set and not listed."""
    name = settings.sagemaker_endpoint_inference
    if "sagemaker_endpoint_inference" not in settings.model_fields_set or name in {i.name for i in found.ours}:
        return
    if name in found.others:
        echo(f"Endpoint {name}, which your settings name, exists but was not created by this tool.")
    else:
        echo(f"Endpoint {name}, which your settings name, does not exist in {region}.")


def _staged_models(aws: Aws, settings: Settings) -> None:
    """The stages in the configured staging bucket(s), with their size, monthly cost and users."""
    from llm_engineering.weights.stages import find_stages
    from llm_engineering.weights.usage import stage_users

    roots = settings.deployer_stage_roots
    if not roots:
        return
    s3 = aws.client("s3")
    where = ", ".join(root.uri for root in roots)
    try:
        stages = [stage for root in roots for stage in find_stages(s3, root.bucket, root.prefix)]
    except ClientError as error:  # a missing bucket or no S3 permission must not hide the endpoints above
        warn(f"staged models under {where} could not be listed ({describe_client_error(error)})")
        return
    if not stages:
        echo(f"No staged model under {where}.")
        return
    users = stage_users(aws.client("sagemaker"))
    total = sum(stage.manifest.total_bytes for stage in stages)
    echo(
        f"Staged models under {where} (S3 Standard, {PRICE_SOURCE}; {storage_cost(total).monthly()} in all, kept "
        "until deleted):"
    )
    for stage in stages:
        manifest = stage.manifest
        cost = storage_cost(manifest.total_bytes)
        echo(f"  {stage.location.uri}")
        echo(
            f"    {manifest.model_id} at {manifest.commit[:12]}, staged {manifest.staged_at}: "
            f"{len(manifest.files)} files, {size_label(manifest.total_bytes)}, {cost.monthly()}"
        )
        loaded = users.get(stage.location.uri)
        echo(f"    loaded by {', '.join(loaded)}" if loaded else "    not loaded by any endpoint")
        echo(f"    delete: make delete-staged-model ARGS=--uri={stage.location.uri}")


def main(argv: list[str] | None = None) -> int:
    ArgumentParser(
        prog="status", description="List the endpoints this tool created in the region and what they cost."
    ).parse_args(argv)
    settings = load_settings()
    aws = connect(settings.aws_region, settings.aws_profile)
    found = region_endpoints(aws.client("sagemaker"))
    if not found.ours and not found.others:
        echo(f"No endpoint in {aws.region}: nothing is billing.")
    elif not found.ours:
        echo(f"No endpoint created by this tool in {aws.region}.")
    else:
        echo(f"Endpoints created by this tool in {aws.region} (billed from creation until deletion):")
        for item in found.ours:
            _show(item)
            _time_limit(aws, item)
            lines = scaling_lines(aws, item.endpoint, item.hosted) if item.endpoint is not None else []
            for line in lines:  # autoscaling: instances, copies, range, scale to zero
                echo(f"    {line}")
    _others(found, aws.region)
    _configured(settings, found, aws.region)
    _staged_models(aws, settings)
    return 0


if __name__ == "__main__":
    run(main)
