"""`shems-optimizer bench outlook`: compute time of the 7-day hourly outlook next to the 48 h plan.

The service's own planner (site document -> inputs -> optimizer -> document) runs on a home with a
battery, an EV, a dishwasher and a water heater under a time-of-use tariff, with a daily load and PV
shape made from the timestamps (so any grid gets inputs). Reported per target: the median wall-clock
seconds over ``--repeats`` runs (``plan_s``: 192 x 15 min; ``outlook_s``: 169 x 1 h, what runs after
each plan), the solver's own build + solve seconds, the step count and the cost. Figures are printed,
not asserted; compare the two within one run on a shared machine.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shems_optimizer.app.planning.engine_planner import BasicInputs, EnginePlanner
from shems_optimizer.app.planning.planning_inputs import PlanningInputs
from shems_optimizer.app.site.site_document import validate_site_document
from shems_optimizer.core.timegrid import TimeGrid

SITE: dict[str, Any] = {
    "timezone": "Europe/Paris",
    "price": {
        "kind": "tou",
        "export_per_kwh": 0.06,
        "periods": [
            {"start": "00:00", "import_per_kwh": 0.18},
            {"start": "07:00", "import_per_kwh": 0.27},
            {"start": "17:00", "import_per_kwh": 0.36},
            {"start": "21:00", "import_per_kwh": 0.27},
            {"start": "23:00", "import_per_kwh": 0.18},
        ],
    },
    "batteries": [
        {
            "id": "battery",
            "name": "Battery",
            "capacity_kwh": 10,
            "max_charge_w": 5000,
            "max_discharge_w": 5000,
        }
    ],
    "evs": [{"id": "ev", "name": "EV", "battery_kwh": 60, "max_charge_w": 7400, "soc_pct": 30}],
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 90}],
    "thermal_loads": [{"id": "boiler", "name": "Water heater", "kind": "water_heater", "power_w": 2400}],
}


class ShapedInputs(BasicInputs):
    """Tariff prices, plus an evening-peaking load and a 6 kWp clear-sky-like PV day, on any grid."""

    def inputs(self, site: Mapping[str, Any], grid: TimeGrid, now: datetime) -> PlanningInputs:
        base = super().inputs(site, grid, now)
        tz = ZoneInfo(str(site.get("timezone", "UTC")))
        load: list[float] = []
        pv: list[float] = []
        for start, end in zip(grid.starts, grid.ends, strict=True):
            middle = start + (end - start) / 2
            hour = middle.astimezone(tz).hour + middle.astimezone(tz).minute / 60
            load.append(0.35 + (1.2 if 18 <= hour < 22 else 0.0) + (0.4 if 7 <= hour < 9 else 0.0))
            pv.append(max(0.0, 6.0 * 0.7 * math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.0)
        return PlanningInputs(load, pv, base.buy_eur_per_kwh, base.sell_eur_per_kwh, (), None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5, help="runs per target (median reported)")


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 4)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    site = validate_site_document(SITE)
    planner = EnginePlanner(ShapedInputs())
    now = datetime(2026, 3, 26, 9, 7, tzinfo=UTC)  # the week holds the spring DST change
    repeats = max(1, args.repeats)
    plan_wall: list[float] = []
    outlook_wall: list[float] = []
    outlook_solver: list[float] = []
    plan: dict[str, Any] = {}
    outlook: dict[str, Any] = {}
    for _ in range(repeats):
        began = time.perf_counter()
        plan = planner.make_plan(site, now, None).document
        plan_wall.append(time.perf_counter() - began)
        began = time.perf_counter()
        outlook = planner.make_outlook(site, now, str(plan["id"]))
        outlook_wall.append(time.perf_counter() - began)
        outlook_solver.append(float(outlook["solve_s"]))
    return [
        {
            "case": "plan_48h_15min",
            "steps": len(plan["steps"]),
            "median_s": _median(plan_wall),
            "solver_s": round(plan["solver"]["build_s"] + plan["solver"]["solve_s"], 4),
            "status": plan["status"],
            "cost_total": plan["cost_total"],
        },
        {
            "case": "outlook_7d_hourly",
            "steps": len(outlook["steps"]),
            "median_s": _median(outlook_wall),
            "solver_s": _median(outlook_solver),
            "status": outlook["status"],
            "cost_total": outlook["cost_total"],
            "repeats": repeats,
        },
    ]
