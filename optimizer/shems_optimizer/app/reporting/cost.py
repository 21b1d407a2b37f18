"""Cost of a home's grid exchange with a tariff, priced hour by hour then summed per bucket.

Pricing needs the time of each kWh: energy is taken per hour (15 minutes for ``15min`` buckets) and
multiplied by that hour's buy / sell price, so time-of-use and market tariffs are exact at that
resolution; coarser buckets add their hours. Without a grid meter, the home's consumption is priced as
if all of it were imported (and nothing exported).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from shems_optimizer.app.records.aggregation import bucket_end, local_bucket_start, zone
from shems_optimizer.app.records.models import Granularity, StoreError
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.app.reporting.consumption import EnergyFlows, energy_flows
from shems_optimizer.core.model.tariff import Tariff


@dataclass(frozen=True)
class CostBucket:
    start: datetime
    end: datetime
    import_kwh: float
    export_kwh: float
    import_cost: float
    export_revenue: float
    currency: str

    @property
    def net_cost(self) -> float:
        return self.import_cost - self.export_revenue


def priced_flows(flows: list[EnergyFlows], tariff: Tariff) -> list[CostBucket]:
    """Price each fine bucket at its start time."""
    index = pd.DatetimeIndex(pd.to_datetime([f.start for f in flows], utc=True))
    buy = tariff.buy_prices(index) if flows else np.zeros(0)
    sell = tariff.sell_prices(index) if flows else np.zeros(0)
    priced = []
    for f, buy_price, sell_price in zip(flows, buy, sell, strict=True):
        imported = f.grid_import_kwh if f.grid_import_kwh is not None else f.consumption_kwh
        exported = f.grid_export_kwh or 0.0
        priced.append(
            CostBucket(
                start=f.start,
                end=f.end,
                import_kwh=imported,
                export_kwh=exported,
                import_cost=imported * float(buy_price),
                export_revenue=exported * float(sell_price),
                currency=tariff.currency,
            )
        )
    return priced


def regroup(buckets: list[CostBucket], granularity: Granularity, tz: ZoneInfo) -> list[CostBucket]:
    groups: dict[datetime, list[CostBucket]] = defaultdict(list)  # UTC keys: DST-safe (see rebucket)
    for b in buckets:
        groups[local_bucket_start(b.start, granularity, tz).astimezone(UTC)].append(b)
    out = []
    for utc_start, members in sorted(groups.items()):
        start = utc_start.astimezone(tz)
        out.append(
            CostBucket(
                start=start,
                end=bucket_end(start, granularity, tz),
                import_kwh=sum(m.import_kwh for m in members),
                export_kwh=sum(m.export_kwh for m in members),
                import_cost=sum(m.import_cost for m in members),
                export_revenue=sum(m.export_revenue for m in members),
                currency=members[0].currency,
            )
        )
    return out


def cost(
    repo: Repository, home_id: str, start: datetime, end: datetime, granularity: Granularity, tariff: Tariff
) -> list[CostBucket]:
    home = repo.get_home(home_id)
    if home is None:
        raise StoreError(f"unknown home {home_id!r}")
    fine = Granularity.MIN15 if granularity is Granularity.MIN15 else Granularity.HOUR
    priced = priced_flows(energy_flows(repo, home_id, start, end, fine), tariff)
    if granularity is fine:
        return priced
    return regroup(priced, granularity, zone(home.timezone))
