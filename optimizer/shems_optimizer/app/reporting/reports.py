"""Daily, weekly and monthly reports: energy, cost, peak demand, self-sufficiency.

* ``peak_import_kw`` — the highest 15-minute average of grid import (what demand charges bill), or of
  the home's consumption when there is no grid meter; ``peak_at`` is the start of that quarter hour.
* ``self_sufficiency`` — share of consumption not imported from the grid: 1 - import / consumption.
* ``self_consumption`` — share of PV production used at home: 1 - export / production.

Either ratio is ``None`` when it is undefined (no consumption, no PV, or no grid meter).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from shems_optimizer.app.records.aggregation import bucket_end, local_bucket_start, zone
from shems_optimizer.app.records.models import Granularity, StoreError
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.app.reporting.consumption import EnergyFlows, energy_flows
from shems_optimizer.app.reporting.cost import CostBucket, priced_flows
from shems_optimizer.core.model.tariff import Tariff

REPORT_PERIODS = (Granularity.DAY, Granularity.WEEK, Granularity.MONTH)


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime
    consumption_kwh: float
    pv_kwh: float
    grid_import_kwh: float | None
    grid_export_kwh: float | None
    import_cost: float
    export_revenue: float
    net_cost: float
    currency: str
    peak_import_kw: float
    peak_at: datetime | None
    self_sufficiency: float | None
    self_consumption: float | None


def report(
    repo: Repository, home_id: str, start: datetime, end: datetime, period: Granularity, tariff: Tariff
) -> list[Report]:
    if period not in REPORT_PERIODS:
        raise StoreError(f"report period must be day, week or month, got {period.value!r}")
    home = repo.get_home(home_id)
    if home is None:
        raise StoreError(f"unknown home {home_id!r}")
    tz = zone(home.timezone)
    quarters = energy_flows(repo, home_id, start, end, Granularity.MIN15)
    priced = priced_flows(quarters, tariff)
    groups: dict[datetime, list[int]] = defaultdict(list)
    for index, q in enumerate(quarters):
        groups[local_bucket_start(q.start, period, tz).astimezone(UTC)].append(index)  # DST-safe keys
    reports = []
    for utc_start, members in sorted(groups.items()):
        period_start = utc_start.astimezone(tz)
        flows = [quarters[i] for i in members]
        costs = [priced[i] for i in members]
        reports.append(
            _summarise(period_start, bucket_end(period_start, period, tz), flows, costs, tariff.currency)
        )
    return reports


def _summarise(
    start: datetime, end: datetime, flows: list[EnergyFlows], costs: list[CostBucket], currency: str
) -> Report:
    has_grid = flows[0].grid_import_kwh is not None
    consumption = sum(f.consumption_kwh for f in flows)
    pv = sum(f.pv_kwh for f in flows)
    imported = sum(f.grid_import_kwh or 0.0 for f in flows) if has_grid else None
    exported = sum(f.grid_export_kwh or 0.0 for f in flows) if has_grid else None
    peak_flow = max(flows, key=lambda f: (f.grid_import_kwh if has_grid else f.consumption_kwh) or 0.0)
    peak_kwh = (peak_flow.grid_import_kwh if has_grid else peak_flow.consumption_kwh) or 0.0
    import_cost = sum(c.import_cost for c in costs)
    export_revenue = sum(c.export_revenue for c in costs)
    return Report(
        start=start,
        end=end,
        consumption_kwh=consumption,
        pv_kwh=pv,
        grid_import_kwh=imported,
        grid_export_kwh=exported,
        import_cost=import_cost,
        export_revenue=export_revenue,
        net_cost=import_cost - export_revenue,
        currency=currency,
        peak_import_kw=peak_kwh * 4,  # a quarter hour's kWh -> average kW
        peak_at=peak_flow.start if peak_kwh > 0 else None,
        self_sufficiency=1 - imported / consumption if imported is not None and consumption > 0 else None,
        self_consumption=1 - (exported or 0.0) / pv if pv > 0 and exported is not None else None,
    )
