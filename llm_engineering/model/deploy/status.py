"""`make status`: every endpoint this tool created in the region, what it runs and what it has cost so far.

The guard against the forgotten GPU bill: one command lists what is billing, found by tags, with the
command that removes it. Light on purpose: no SageMaker SDK import, a few Describe/List calls.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llm_engineering import aws as aws_factory
from llm_engineering import tags as tool_tags
from llm_engineering.cli import echo, run
from llm_engineering.hosting.instances import GPU_INSTANCES, PRICE_REGION
from llm_engineering.hosting.resources import Endpoint, components_on
from llm_engineering.settings import load_settings


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    status: str
    kind: str
    model_id: str
    instances: str
    components: list[str]
    hours: float
    usd_per_hour: float | None

    @property
    def usd_so_far(self) -> float | None:
        return None if self.usd_per_hour is None else self.usd_per_hour * self.hours


def managed_endpoints(client: Any, now: datetime | None = None) -> list[EndpointStatus]:
    """Endpoints carrying this tool's tags, with their instances, components and running cost."""
    now = now or datetime.now(UTC)
    found: list[EndpointStatus] = []
    pages = client.get_paginator("list_endpoints").paginate()
    for summary in (item for page in pages for item in page.get("Endpoints", [])):
        endpoint = Endpoint.get(client, summary["EndpointName"])
        if endpoint is None:
            continue
        tags = endpoint.tags()
        if not tool_tags.is_managed(tags):
            continue
        running = {v["VariantName"]: v.get("CurrentInstanceCount") for v in endpoint.raw.get("ProductionVariants", [])}
        price: float | None = 0.0
        described: list[str] = []
        for variant in endpoint.variants:
            count = running.get(variant["VariantName"]) or variant.get("InitialInstanceCount", 0)
            row = GPU_INSTANCES.get(variant.get("InstanceType", ""))
            price = price + row.usd_per_hour * count if row and price is not None else None
            described.append(f"{count} x {variant.get('InstanceType', '?')}")
        components = []
        if endpoint.hosts_components:
            components = [f"{c.name} ({c.status})" for c in components_on(client, endpoint.name)]
        created = endpoint.raw.get("CreationTime", now)
        found.append(
            EndpointStatus(
                name=endpoint.name,
                status=endpoint.status,
                kind="inference-component" if endpoint.hosts_components else "model-based",
                model_id=tool_tags.as_dict(tags).get(tool_tags.MODEL_ID, "?"),
                instances=", ".join(described) or "?",
                components=components,
                hours=max((now - created).total_seconds() / 3600, 0.0),
                usd_per_hour=price if described else None,
            )
        )
    return found


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
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
            f"about USD {item.usd_per_hour:.2f}/hour, USD {item.usd_so_far:.2f} so far ({PRICE_REGION} prices)"
            if item.usd_per_hour is not None and item.usd_so_far is not None
            else "price unknown"
        )
        echo(f"  {item.name}: {item.status}, {item.kind}, {item.model_id} on {item.instances}")
        echo(f"    up {item.hours:.1f} h, {cost}")
        for component in item.components:
            echo(f"    component {component}")
        echo(f"    delete: make delete-inference-endpoint ENDPOINT_NAME={item.name}")
    return 0


if __name__ == "__main__":
    run(main)
