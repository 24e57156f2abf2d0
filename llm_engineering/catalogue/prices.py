"""What instances cost while they exist: the one place that turns list prices into hourly, daily and monthly
figures, so the plan, preflight, the confirmation question and `make status` always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llm_engineering.catalogue.instances import GPU_INSTANCES, PRICE_REGION, GpuInstance

HOURS_PER_MONTH = 730
PRICE_SOURCE = f"{PRICE_REGION} list price"
S3_STANDARD_USD_PER_GB_MONTH = 0.023
"""S3 Standard storage, first 50 TB a month, us-east-1 list price (AWS bills storage per GB-month, GB = 2^30
bytes). Staged weights cost this while they exist, whether an endpoint runs or not."""


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

    def monthly(self) -> str:
        """`about USD 0.35/month`, or `under USD 0.01/month` for what rounds to nothing."""
        if 0 < self.usd_per_month < 0.005:
            return "under USD 0.01/month"
        return f"about USD {self.usd_per_month:,.2f}/month"

    def summary(self) -> str:
        """`about USD 1.52/hour, 36.48/day, 1,110/month if forgotten`"""
        return f"{self.hourly()}, {self.usd_per_day:.2f}/day, {self.usd_per_month:,.0f}/month if forgotten"

    def where(self, region: str) -> str:
        """Whose prices these are, for the reader in `region`."""
        return PRICE_SOURCE + ("" if region == PRICE_REGION else f"; {region} differs")


def instances_cost(instance: GpuInstance, count: int) -> Cost:
    return Cost(instance.usd_per_hour * count)


def storage_cost(nbytes: int) -> Cost:
    """What keeping `nbytes` in S3 Standard costs (as a Cost, so `usd_per_month` reads naturally)."""
    return Cost(nbytes / 1024**3 * S3_STANDARD_USD_PER_GB_MONTH / HOURS_PER_MONTH)


def fleet_cost(fleet: Iterable[tuple[str, int]]) -> Cost | None:
    """The cost of (instance type, count) pairs; None when a type is not in the price table."""
    total = 0.0
    for instance_type, count in fleet:
        row = GPU_INSTANCES.get(instance_type)
        if row is None:
            return None
        total += row.usd_per_hour * count
    return Cost(total)
