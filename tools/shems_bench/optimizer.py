"""`shems-optimizer bench optimizer`: planning speed and cost on reference cases.

Cases (one JSON object each, medians over ``--repeats`` runs of build and solve):

* ``emhass_case_a*``: EMHASS's reference day (bundled inputs) modelled with EMHASS's semantics, as
  published (48 steps), with a 0.065 EUR sell price, tiled to 2 and 7 days, and at 5-min steps. The
  EMHASS 0.18.7 figures measured on the same machine type are carried along for comparison.
* ``full_site_*``: the demo home (battery, EV, dishwasher, washing machine, water heater) plus a heat
  pump, on real load/PV/prices, 48 h and 7 days at 15-min steps; the 7-day case repeats the EV
  session and the appliances every day.
* ``battery_only_96``: one battery + PV + load, 96 × 15 min: the case a backtest re-plans hourly.

``build_s`` is model building (site -> sparse matrix), ``solve_s`` everything after it (HiGHS,
extraction, explanations; the baseline simulation is off). ``cpu_s`` is the process CPU time of a
whole run (median): on a shared machine it barely moves with the load, unlike the wall-clock
times. ``peak_rss_mb`` is the process's peak resident memory once the case has run (monotonic over
the run). ``--pulp`` plans the smaller cases (or those named by ``--case``) again through PuLP,
with its HiGHS interface and with CBC (``Options(solver="pulp:highs" | "pulp:cbc")``): same model,
same lazy rounds; ``solve_s`` then includes handing the model to PuLP, which ``pulp_model_s``
gives alone for the final model (every restriction in). ``cpu_s`` counts this process only: a
solver PuLP runs as a program of its own (CBC) spends its CPU time outside it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from shems_optimizer.app.inputs.scenario import Scenario, load_scenario
from shems_optimizer.core.model import EnergyAppliance, ProfileAppliance, Series, Site, ThermalLoad
from shems_optimizer.core.model.assets import ElectricVehicle
from shems_optimizer.core.plan import Plan
from shems_optimizer.core.planner import Options, optimize
from shems_optimizer.core.timegrid import TimeGrid
from shems_optimizer.data import data_path

# EMHASS 0.18.7 (CVXPY + HiGHS, MIP gap 0) on this machine type: cold solve seconds and net cost.
EMHASS_REFERENCE: dict[str, tuple[float, float]] = {
    "emhass_case_a": (0.210, 4.064369027558711),
    "emhass_case_a_sell0065": (0.296, 4.068336163921453),
    "emhass_case_a_2days": (0.418, 8.128738055117422),
    "emhass_case_a_5min": (0.791, 4.06436902755871),
    "emhass_case_a_7days": (3.01, 28.450583192910976),
}


@dataclass(frozen=True)
class Case:
    name: str
    scenario: Callable[[], Scenario]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=7, help="runs per case (median reported)")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument(
        "--pulp", action="store_true", help="also plan through PuLP with HiGHS and CBC (Options(solver=...))"
    )


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for case in CASES:
        if args.case and case.name not in args.case:
            continue
        rows.append(measure(case, max(1, args.repeats)))
        if not args.json:
            print(f"  ... {case.name} done", file=sys.stderr)
    if args.pulp:
        rows.extend(measure_pulp(args, max(1, args.repeats)))
    return rows


def measure(case: Case, repeats: int, solver: str = "highs") -> dict[str, Any]:
    scenario = case.scenario()
    options = Options(compute_baseline=False, solver=solver)
    builds, solves, totals, cpus = [], [], [], []
    plan: Plan | None = None
    for _ in range(repeats):
        began, began_cpu = time.perf_counter(), time.process_time()
        plan = optimize(scenario.site, scenario.series, options)
        totals.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
        builds.append(plan.solver.build_s)
        solves.append(plan.solver.solve_s)
    assert plan is not None
    row: dict[str, Any] = {
        "case": case.name,
        "solver": solver,
        "steps": scenario.series.grid.steps,
        "status": plan.status,
        "cost": round(plan.cost.total, 6),
        "objective": None if plan.solver.objective is None else round(plan.solver.objective, 6),
        "build_s": round(statistics.median(builds), 5),
        "solve_s": round(statistics.median(solves), 5),
        "total_s": round(statistics.median(totals), 5),
        "cpu_s": round(statistics.median(cpus), 5),
        "variables": plan.solver.num_variables,
        "constraints": plan.solver.num_constraints,
        "integers": plan.solver.num_integer,
        "mip_gap": plan.solver.mip_gap,
        "unmet_goals": len(plan.unmet_goals),
        "runs": repeats,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }
    reference = EMHASS_REFERENCE.get(case.name)
    if reference is not None and solver == "highs":
        emhass_s, emhass_cost = reference
        row["emhass_cost"] = round(emhass_cost, 6)
        row["cost_vs_emhass_pct"] = round(100.0 * (plan.cost.total - emhass_cost) / emhass_cost, 5)
        row["emhass_cold_s"] = emhass_s
        row["speedup_vs_emhass"] = round(emhass_s / (row["build_s"] + row["solve_s"]), 1)
    return row


# ---------------------------------------------------------------------------------------------------
# Scenarios


def case_a(csv: str = "inputs_48x30min_default.csv", days: int = 1, substeps: int = 1) -> Scenario:
    """Case A, optionally tiled to ``days`` (one deferrable window per day) or split into substeps."""
    base = load_scenario(data_path("emhass_case_a", "site.yaml"), data_path("emhass_case_a", csv))
    grid0 = base.series.grid
    step = timedelta(hours=float(grid0.hours[0]) / substeps)
    grid = TimeGrid.uniform(grid0.start, step, grid0.steps * days * substeps, grid0.tz)

    def tile(values: Any) -> Any:
        return np.repeat(np.tile(np.asarray(values), days), substeps)

    series = Series.from_arrays(
        grid,
        load_kw=tile(base.series.load_kw),
        pv_kw=tile(base.series.pv_kw),
        buy_eur_per_kwh=tile(base.series.buy_eur_per_kwh),
        sell_eur_per_kwh=tile(base.series.sell_eur_per_kwh),
    )
    appliances = []
    for day in range(days):
        begin = grid0.start + timedelta(days=day)
        for app in base.site.appliances:
            assert isinstance(app, EnergyAppliance)
            name = app.name if days == 1 else f"{app.name}_day{day + 1}"
            appliances.append(
                replace(app, name=name, earliest_start=begin, latest_finish=begin + timedelta(days=1))
            )
    return Scenario(site=replace(base.site, appliances=tuple(appliances)), series=series)


HEAT_PUMP = ThermalLoad(
    name="heat_pump",
    max_power_kw=3.0,
    cop=3.2,
    heat_capacity_kwh_per_k=10.0,
    loss_kw_per_k=0.2,
    initial_temp_c=20.5,
    min_temp_c=19.5,
    max_temp_c=22.5,
    ambient_c=8.0,
)


def full_site(days: int) -> Scenario:
    """The demo home plus a heat pump; for several days every daily goal repeats."""
    demo = load_scenario(data_path("demo", "site.yaml"), data_path("demo", "series.csv"))
    start = datetime.fromisoformat("2024-04-27T00:00:00+02:00") if days > 2 else demo.series.grid.start
    grid = TimeGrid.uniform(start, timedelta(minutes=15), days * 96 if days > 2 else 192, demo.site.timezone)
    samples = load_scenario(data_path("demo", "site.yaml"), data_path("demo", "series.csv"))
    series = _regrid(samples.series, grid)
    evs: list[ElectricVehicle] = []
    appliances: list[ProfileAppliance | EnergyAppliance] = []
    first = demo.series.grid.start
    for day in range(days if days > 2 else 1):
        shift = (start - first) + timedelta(days=day)
        suffix = "" if days <= 2 else f"_day{day + 1}"
        for ev in demo.site.evs:
            evs.append(
                replace(
                    ev,
                    name=ev.name + suffix,
                    arrival=_shift(ev.arrival, shift),
                    departure=_shift(ev.departure, shift),
                )
            )
        for app in demo.site.appliances:
            appliances.append(
                replace(
                    app,
                    name=app.name + suffix,
                    earliest_start=_shift(app.earliest_start, shift),
                    latest_finish=_shift(app.latest_finish, shift),
                )
            )
    site = replace(demo.site, evs=tuple(evs), appliances=tuple(appliances), thermal=(HEAT_PUMP,))
    return Scenario(site=site, series=series)


def battery_only() -> Scenario:
    demo = load_scenario(data_path("demo", "site.yaml"), data_path("demo", "series.csv"))
    grid = TimeGrid.uniform(demo.series.grid.start, timedelta(minutes=15), 96, demo.site.timezone)
    site = Site(
        name="battery-pv-load",
        timezone=demo.site.timezone,
        grid=demo.site.grid,
        batteries=demo.site.batteries,
    )
    return Scenario(site=site, series=_regrid(demo.series, grid))


def _shift(moment: datetime | None, by: timedelta) -> datetime | None:
    return None if moment is None else moment + by


def _regrid(series: Series, grid: TimeGrid) -> Series:
    """Re-read the bundled demo CSV on another horizon."""
    from shems_optimizer.app.inputs.scenario import read_csv_columns

    stamps, columns = read_csv_columns(data_path("demo", "series.csv"))
    return Series.from_samples(grid, stamps, columns)


CASES: tuple[Case, ...] = (
    Case("emhass_case_a", lambda: case_a()),
    Case("emhass_case_a_sell0065", lambda: case_a("inputs_48x30min_sell0065.csv")),
    Case("emhass_case_a_2days", lambda: case_a(days=2)),
    Case("emhass_case_a_5min", lambda: case_a(substeps=6)),
    Case("emhass_case_a_7days", lambda: case_a(days=7)),
    Case("battery_only_96", battery_only),
    Case("full_site_48h_15min", lambda: full_site(2)),
    Case("full_site_7d_15min", lambda: full_site(7)),
)


# ---------------------------------------------------------------------------------------------------
# PuLP comparison

# The solvers ``--pulp`` runs beside HiGHS through highspy, and the cases it runs them on unless
# ``--case`` names others (CBC needs minutes for the 7-day site).
PULP_SOLVERS = ("pulp:highs", "pulp:cbc")
PULP_CASES = ("emhass_case_a", "emhass_case_a_sell0065", "emhass_case_a_2days", "full_site_48h_15min")


def measure_pulp(args: argparse.Namespace, repeats: int) -> list[dict[str, Any]]:
    """The same cases planned through PuLP: same model, same lazy rounds, another solver."""
    from shems_optimizer.core.planner.build import build_model
    from shems_optimizer.core.planner.pulp_solve import pulp_problem
    from shems_optimizer.core.planner.run import solve_lazily

    rows = []
    for case in CASES:
        if case.name not in (args.case or PULP_CASES):
            continue
        scenario = case.scenario()
        # Translating the final model (every lazy restriction in) into a PuLP problem, alone.
        built = build_model(scenario.site, scenario.series, Options(compute_baseline=False))
        compiled, _, _ = solve_lazily(built, Options(compute_baseline=False))
        translations = []
        for _ in range(repeats):
            began = time.perf_counter()
            pulp_problem(compiled)
            translations.append(time.perf_counter() - began)
        for solver in PULP_SOLVERS:
            row = measure(case, repeats, solver)
            row["pulp_model_s"] = round(statistics.median(translations), 5)
            rows.append(row)
            if not args.json:
                print(f"  ... {case.name} with {solver} done", file=sys.stderr)
    return rows
