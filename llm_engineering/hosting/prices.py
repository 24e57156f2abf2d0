"""What instances cost while they exist: the one place that turns list prices into hourly, daily and monthly
figures, so the plan, preflight, the confirmation question and `make status` always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llm_engineering.hosting.instances import GPU_INSTANCES, PRICE_REGION, GpuInstance

HOURS_PER_MONTH = 730
PRICE_SOURCE = f"{PRICE_REGION} list price"


@dataclass(frozen=True)
class Cost:
    """A running cost; SageMaker bills instances from creation until deletion, used or not."""

    usd_per_hour: float

    @property
    def usd_per_day(self) -> float:
        return self.usd_per_hour * 24

    @property
    def usd_per_month(self) -> float:
        return self.usd_per_hour * HOURS_PER_MONTH

    def after(self, hours: float) -> float:
        """What `hours` of it cost."""
        return self.usd_per_hour * hours

    def hourly(self) -> str:
        """`about USD 1.52/hour`"""
        return f"about USD {self.usd_per_hour:.2f}/hour"

    def summary(self) -> str:
        """`about USD 1.52/hour, 36.48/day, 1,110/month if forgotten`"""
        return f"{self.hourly()}, {self.usd_per_day:.2f}/day, {self.usd_per_month:,.0f}/month if forgotten"

    def where(self, region: str) -> str:
        """Whose prices these are, for the reader in `region`."""
        return PRICE_SOURCE + ("" if region == PRICE_REGION else f"; {region} differs")


def instances_cost(instance: GpuInstance, count: int) -> Cost:
    return Cost(instance.usd_per_hour * count)


def fleet_cost(fleet: Iterable[tuple[str, int]]) -> Cost | None:
    """The cost of (instance type, count) pairs; None when a type is not in the price table."""
    total = 0.0
    for instance_type, count in fleet:
        row = GPU_INSTANCES.get(instance_type)
        if row is None:
            return None
        total += row.usd_per_hour * count
    return Cost(total)
