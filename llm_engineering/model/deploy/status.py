"""`make status`: every endpoint this tool created in the region, what it runs and what it has cost so far.

The guard against the forgotten GPU bill: one command lists what is billing, found by tags, with the
command that removes it. Light on purpose: no SageMaker SDK import, a few Describe/List calls.
"""

from __future__ import annotations

from llm_engineering import aws as aws_factory
from llm_engineering.cli import ArgumentParser, echo, run
from llm_engineering.hosting.inventory import managed_endpoints
from llm_engineering.hosting.prices import PRICE_SOURCE
from llm_engineering.settings import load_settings
from llm_engineering.statuses import Status, described


def main(argv: list[str] | None = None) -> int:
    ArgumentParser(
        prog="status", description="List the endpoints this tool created in the region and what they cost."
    ).parse_args(argv)
    settings = load_settings()
    aws = aws_factory.from_settings(settings)
    endpoints = managed_endpoints(aws.client("sagemaker"))
    if not endpoints:
        echo(f"No endpoint created by this tool in {aws.region}: nothing is billing.")
        return 0
    echo(f"Endpoints created by this tool in {aws.region} (billed from creation until deletion):")
    for item in endpoints:
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
    return 0


if __name__ == "__main__":
    run(main)
