"""`shems-optimizer optimize SITE --series CSV [--output plan.json]`: plan one scenario.

Prints a short readable summary (or the whole plan as JSON with ``--json``); bad input gives one
line naming the field and the problem, and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shems_optimizer.app.inputs.scenario import load_scenario
from shems_optimizer.cli.arguments import add_solver_argument
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.plan import Plan
from shems_optimizer.core.planner import Options, PlanningError, SolverUnavailable, optimize


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "optimize",
        help="plan a site (YAML/JSON) over a series CSV",
        description="Plan a site over a series CSV (format: docs/scenario-format.md).",
    )
    parser.add_argument("site", type=Path, help="site file (.yaml, .yml or .json)")
    parser.add_argument("--series", type=Path, required=True, help="CSV with timestamp, load, pv, prices")
    parser.add_argument("--output", type=Path, help="write the full plan as JSON to this file")
    parser.add_argument(
        "--json", action="store_true", help="print the full plan as JSON instead of a summary"
    )
    parser.add_argument(
        "--objective", choices=("cost", "self_consumption"), default="cost", help="what to minimise"
    )
    parser.add_argument("--mip-gap", type=float, default=1e-4, help="relative MIP gap (default 1e-4)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="solver time limit in seconds")
    add_solver_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        options = Options(
            objective=args.objective, mip_gap=args.mip_gap, time_limit_s=args.time_limit, solver=args.solver
        )
        scenario = load_scenario(args.site, args.series)
        plan = optimize(scenario.site, scenario.series, options)
    except SolverUnavailable as err:
        print(f"shems-optimizer optimize: {err}", file=sys.stderr)
        return 2
    except ConfigError as err:
        print(f"shems-optimizer optimize: invalid input: {err}", file=sys.stderr)
        return 2
    except PlanningError as err:
        print(f"shems-optimizer optimize: {err}", file=sys.stderr)
        return 1
    document = plan.to_dict()
    if args.output is not None:
        args.output.write_text(json.dumps(document, indent=2), encoding="utf-8")
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(summary(plan, scenario.site.currency))
    return 0


def summary(plan: Plan, currency: str = "EUR") -> str:
    """A few lines a person can read: status, cost vs baseline, when things run, unmet goals; amounts
    in the site's ``currency``."""
    tz = plan.grid.tz
    fmt = "%a %H:%M"
    lines = [
        f"Plan for {plan.site_name}: {plan.grid.start.astimezone(tz).strftime(fmt)} - "
        f"{plan.grid.end.astimezone(tz).strftime(fmt)} ({plan.grid.steps} steps), solver: {plan.status}",
        f"  cost {plan.cost.total:.2f} {currency} (import {plan.cost.import_eur:.2f}, "
        f"export -{plan.cost.export_eur:.2f}, wear {plan.cost.wear_eur:.2f})",
    ]
    if plan.cost.stored_value_eur:
        lines.append(
            f"  energy left in batteries worth {plan.cost.stored_value_eur:.2f} {currency} "
            f"-> net {plan.cost.net:.2f} {currency}"
        )
    if plan.baseline is not None and plan.savings_eur is not None:
        lines.append(
            f"  without optimisation {plan.baseline.cost.total:.2f} {currency} "
            f"(net {plan.baseline.cost.net:.2f}) -> saves {plan.savings_eur:.2f} {currency}"
        )
    for app in plan.appliances:
        if app.runs:
            runs = ", ".join(
                f"{r.start.astimezone(tz).strftime(fmt)}-{r.end.astimezone(tz).strftime('%H:%M')}"
                for r in app.runs
            )
            lines.append(f"  {app.name}: {runs} ({app.energy_kwh:.1f} kWh)")
        else:
            lines.append(f"  {app.name}: does not run")
    for bat in plan.batteries:
        lines.append(
            f"  battery {bat.name}: {100 * bat.soc_start:.0f} % -> {100 * bat.soc[-1]:.0f} %, "
            f"min {100 * min(bat.soc):.0f} %, max {100 * max(bat.soc):.0f} %, "
            f"charges {sum(c * h for c, h in zip(bat.charge_kw, plan.grid.hours, strict=True)):.1f} kWh"
        )
    for ev in plan.evs:
        charging = [i for i, p in enumerate(ev.charge_kw) if p > 1e-6]
        energy = sum(p * h for p, h in zip(ev.charge_kw, plan.grid.hours, strict=True))
        hours = sum(float(plan.grid.hours[i]) for i in charging)
        when = (
            f"charges {energy:.1f} kWh in {hours:.2g} h between "
            f"{plan.grid.starts[charging[0]].astimezone(tz).strftime(fmt)} and "
            f"{plan.grid.ends[charging[-1]].astimezone(tz).strftime(fmt)}"
            if charging
            else "does not charge"
        )
        lines.append(f"  EV {ev.name}: {100 * ev.soc_start:.0f} % -> {100 * ev.soc[-1]:.0f} %, {when}")
    for th in plan.thermal:
        lines.append(
            f"  {th.name}: {min(th.temperature_c):.1f}-{max(th.temperature_c):.1f} °C, "
            f"{sum(p * h for p, h in zip(th.power_kw, plan.grid.hours, strict=True)):.1f} kWh"
        )
    if plan.unmet_goals:
        lines.append("  Goals not met:")
        lines += [f"   - {goal.explanation}" for goal in plan.unmet_goals]
    else:
        lines.append("  Every goal is met.")
    lines += [f"  note: {note}" for note in plan.notes]
    return "\n".join(lines)
