"""`make status`: every endpoint this tool created in the region, what it runs and what it has cost so far.

The guard against the forgotten GPU bill: one command lists what is billing, found by tags, with the
command that removes it, and how many other endpoints (not this tool's) bill in the region beside them; it
never says "nothing is billing" while any endpoint runs. Light on purpose: no SageMaker SDK import, a few
Describe/List calls.
"""

from __future__ import annotations

from llm_engineering import aws as aws_factory
from llm_engineering.cli import ArgumentParser, echo, run
from llm_engineering.hosting.inventory import EndpointSummary, RegionEndpoints, region_endpoints
from llm_engineering.hosting.prices import PRICE_SOURCE
from llm_engineering.settings import Settings, load_settings
from llm_engineering.statuses import Status, described


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


def main(argv: list[str] | None = None) -> int:
    ArgumentParser(
        prog="status", description="List the endpoints this tool created in the region and what they cost."
    ).parse_args(argv)
    settings = load_settings()
    aws = aws_factory.from_settings(settings)
    found = region_endpoints(aws.client("sagemaker"))
    if not found.ours and not found.others:
        echo(f"No endpoint in {aws.region}: nothing is billing.")
    elif not found.ours:
        echo(f"No endpoint created by this tool in {aws.region}.")
    else:
        echo(f"Endpoints created by this tool in {aws.region} (billed from creation until deletion):")
        for item in found.ours:
            _show(item)
    _others(found, aws.region)
    _configured(settings, found, aws.region)
    return 0


if __name__ == "__main__":
    run(main)
