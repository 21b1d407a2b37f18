"""Small builders for hand-checkable planning tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shems_optimizer.core.model import Series, Site
from shems_optimizer.core.plan import Plan
from shems_optimizer.core.planner import Options, optimize
from shems_optimizer.core.timegrid import TimeGrid

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


def hourly_grid(steps: int, start: datetime = START) -> TimeGrid:
    return TimeGrid.uniform(start, timedelta(hours=1), steps)


def flat_series(
    steps: int,
    *,
    load: float | Sequence[float] = 0.0,
    pv: float | Sequence[float] = 0.0,
    buy: float | Sequence[float] = 0.3,
    sell: float | Sequence[float] = 0.1,
    grid: TimeGrid | None = None,
) -> Series:
    grid = grid or hourly_grid(steps)

    def values(v: float | Sequence[float]) -> list[float]:
        return [float(v)] * steps if isinstance(v, int | float) else [float(x) for x in v]

    return Series.from_arrays(
        grid,
        load_kw=values(load),
        pv_kw=values(pv),
        buy_eur_per_kwh=values(buy),
        sell_eur_per_kwh=values(sell),
    )


def plan_for(site: Site, series: Series, **options: object) -> Plan:
    return optimize(site, series, Options(**options))  # type: ignore[arg-type]


def energy_balance_error(plan: Plan) -> float:
    """Largest |supply − demand| over all steps (kW)."""
    worst = 0.0
    for t in range(plan.grid.steps):
        supply = plan.power.import_kw[t] + plan.power.pv_used_kw[t] + plan.power.unserved_load_kw[t]
        supply += sum(b.discharge_kw[t] for b in plan.batteries)
        demand = plan.power.export_kw[t] + plan.power.load_kw[t]
        demand += sum(b.charge_kw[t] for b in plan.batteries)
        demand += sum(e.charge_kw[t] for e in plan.evs)
        demand += sum(a.power_kw[t] for a in plan.appliances)
        demand += sum(h.power_kw[t] for h in plan.thermal)
        worst = max(worst, abs(supply - demand))
    return worst
