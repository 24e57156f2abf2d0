"""What the deployment costs while it exists, and the fastest a single stream can decode on it."""

from __future__ import annotations

from llm_engineering.catalogue.instances import PRICE_REGION, GpuInstance
from llm_engineering.hosting.memory import Weights, decoding_ceiling
from llm_engineering.preflight.report import CheckResult

HOURS_PER_MONTH = 730


def check_price(
    *, instance: GpuInstance, instance_count: int, gpus_per_copy: int, region: str, weights: Weights | None
) -> CheckResult:
    """The price row: always ok, it informs (the deploy script asks for confirmation with the same figure)."""
    hourly = instance.usd_per_hour * instance_count
    where = f"{PRICE_REGION} list price" + ("" if region == PRICE_REGION else f"; {region} differs")
    parts = [
        f"{instance_count} x {instance.name}: about USD {hourly:.2f}/hour, {hourly * 24:.2f}/day, "
        f"{hourly * HOURS_PER_MONTH:,.0f}/month if forgotten ({where}); billed from creation until deletion"
    ]
    details: dict[str, object] = {"usd_per_hour": round(hourly, 4), "usd_per_day": round(hourly * 24, 2)}
    bandwidth = instance.gpu_bandwidth_gbps
    gpus = f"{gpus_per_copy} x {instance.gpu}" if gpus_per_copy > 1 else f"one {instance.gpu}"
    if weights is not None and weights.bytes > 0:
        ceiling = decoding_ceiling(weights.bytes, bandwidth, gpus_per_copy)
        parts.append(
            f"{weights.size_label} in {weights.precision} on {gpus} ({bandwidth} GB/s"
            f"{' each' if gpus_per_copy > 1 else ''}): at most ~{ceiling:.0f} tokens/s per stream"
        )
        details["tokens_per_second_ceiling"] = round(ceiling, 1)
    else:
        parts.append("decoding ceiling unknown (no weight size)")
    return CheckResult("Price", "ok", "; ".join(parts), details=details)
