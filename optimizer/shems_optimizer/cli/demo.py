"""`shems-optimizer demo`: plan 48 h for a sample home on bundled real data and draw the plan.

No database, no broker, no network: the home (PV, battery, EV, dishwasher, washing machine, water
heater) is ``data/demo/site.yaml`` and the inputs are an excerpt of a real household's load and PV
with real DE-LU day-ahead prices (``data/demo/series.csv``, see its ATTRIBUTION.md). Prints a summary
a person can read and writes a PNG chart (prices, PV, load, battery and EV state of charge, appliance
runs).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Any

from shems_optimizer.app.inputs.scenario import load_scenario
from shems_optimizer.cli.optimize import summary
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.plan import Plan
from shems_optimizer.core.planner import Options, PlanningError, optimize
from shems_optimizer.data import data_path

DEFAULT_CHART = Path("out/demo-plan.png")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="plan 48 h for a sample home on bundled real data and draw the plan",
        description="Plan 48 h for a sample home (bundled real data) and write a PNG chart.",
    )
    parser.add_argument(
        "--chart", type=Path, default=DEFAULT_CHART, help=f"PNG to write (default {DEFAULT_CHART})"
    )
    parser.add_argument("--no-chart", action="store_true", help="only print the summary")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    began = time.perf_counter()
    try:
        scenario = load_scenario(data_path("demo", "site.yaml"), data_path("demo", "series.csv"))
        plan = optimize(scenario.site, scenario.series, Options())
    except (ConfigError, PlanningError, FileNotFoundError) as err:
        print(f"shems-optimizer demo: {err}", file=sys.stderr)
        return 1
    print("SHEMS demo: a home with PV, a 10 kWh battery, an EV, a dishwasher, a washing machine and a")
    print("water heater, planned 48 h ahead at 15-min steps on real household load/PV and DE-LU day-ahead")
    print("prices (import = spot + 0.20 EUR/kWh, export = spot; data: EMHASS project, SMARD.de CC BY 4.0).")
    print()
    print(summary(plan))
    print(
        f"  solved in {plan.solver.build_s + plan.solver.solve_s:.2f} s "
        f"({plan.solver.num_variables} variables, {plan.solver.num_integer} binaries, "
        f"MIP gap {plan.solver.mip_gap or 0:.1e})"
    )
    if not args.no_chart:
        try:
            draw_chart(plan, args.chart)
        except ImportError as err:
            print(
                f"shems-optimizer demo: the chart needs matplotlib ({err}): install the plot extra "
                "(pip install 'shems-optimizer[plot]') or pass --no-chart",
                file=sys.stderr,
            )
            return 1
        except OSError as err:
            print(f"shems-optimizer demo: cannot write the chart to {args.chart}: {err}", file=sys.stderr)
            return 1
        print(f"  chart: {args.chart}")
    print(f"  demo finished in {time.perf_counter() - began:.1f} s")
    return 0


def draw_chart(plan: Plan, path: Path) -> None:
    """Four stacked panels over the horizon: prices, power flows, states of charge, appliance runs."""
    import matplotlib

    matplotlib.use("Agg")
    mdates: Any = importlib.import_module("matplotlib.dates")
    import matplotlib.pyplot as plt
    import numpy as np

    tz = plan.grid.tz
    edges = [b.astimezone(tz) for b in plan.grid.boundaries]
    starts = edges[:-1]

    def stairs(values: tuple[float, ...]) -> Any:
        return np.append(np.asarray(values), values[-1])

    fig, axes = plt.subplots(
        4, 1, figsize=(12, 10), sharex=True, gridspec_kw={"height_ratios": [1.1, 1.6, 1.1, 1.0]}
    )
    price, power, soc, runs = axes

    price.step(edges, stairs(plan.power.buy_eur_per_kwh), where="post", color="#c0392b", label="buy")
    price.step(edges, stairs(plan.power.sell_eur_per_kwh), where="post", color="#2980b9", label="sell")
    price.axhline(0, color="grey", lw=0.6)
    price.set_ylabel("EUR/kWh")
    price.set_title("Prices (day-ahead spot; buy = spot + 0.20)", loc="left", fontsize=10)
    price.legend(loc="upper left", fontsize=8, ncol=2)

    pv = np.asarray(plan.power.pv_used_kw)
    load = np.asarray(plan.power.load_kw)
    flexible = np.zeros(plan.grid.steps)
    for app in plan.appliances:
        flexible += np.asarray(app.power_kw)
    for ev in plan.evs:
        flexible += np.asarray(ev.charge_kw)
    battery_net = np.zeros(plan.grid.steps)
    for bat in plan.batteries:
        battery_net += np.asarray(bat.discharge_kw) - np.asarray(bat.charge_kw)
    grid_net = np.asarray(plan.power.import_kw) - np.asarray(plan.power.export_kw)
    power.fill_between(edges, stairs(tuple(pv)), step="post", color="#f6c85f", alpha=0.7, label="PV")
    power.step(edges, stairs(tuple(load)), where="post", color="#34495e", lw=1.0, label="base load")
    power.step(
        edges,
        stairs(tuple(load + flexible)),
        where="post",
        color="#8e44ad",
        lw=1.0,
        label="load incl. planned",
    )
    power.step(edges, stairs(tuple(grid_net)), where="post", color="#c0392b", lw=1.2, label="grid (+import)")
    power.step(
        edges, stairs(tuple(battery_net)), where="post", color="#27ae60", lw=1.2, label="battery (+discharge)"
    )
    power.axhline(0, color="grey", lw=0.6)
    power.set_ylabel("kW")
    power.set_title("Power", loc="left", fontsize=10)
    power.legend(loc="upper left", fontsize=8, ncol=3)

    for bat in plan.batteries:
        soc.plot(edges, 100 * np.append(bat.soc_start, bat.soc), color="#27ae60", label=f"{bat.name} SOC")
    for ev in plan.evs:
        soc.plot(edges, 100 * np.append(ev.soc_start, ev.soc), color="#e67e22", label=f"EV {ev.name} SOC")
    soc.set_ylim(0, 100)
    soc.set_ylabel("%")
    soc.set_title("State of charge", loc="left", fontsize=10)
    soc.legend(loc="upper left", fontsize=8, ncol=2)

    lanes = [(f"EV {ev.name}", ev.charge_kw) for ev in plan.evs] + [
        (a.name, a.power_kw) for a in plan.appliances
    ]
    colors = ["#e67e22", "#16a085", "#2c3e50", "#d35400", "#7f8c8d", "#8e44ad"]
    for lane, (_, kw) in enumerate(lanes):
        values = np.asarray(kw)
        for t in np.flatnonzero(values > 1e-6):
            runs.broken_barh(
                [(mdates.date2num(starts[t]), mdates.date2num(edges[t + 1]) - mdates.date2num(starts[t]))],
                (lane - 0.35, 0.7),
                color=colors[lane % len(colors)],
                alpha=0.35 + 0.65 * float(values[t] / max(values.max(), 1e-9)),
                lw=0,
            )
    runs.set_yticks(range(len(lanes)), [name for name, _ in lanes], fontsize=8)
    runs.set_ylim(-0.6, len(lanes) - 0.4)
    runs.invert_yaxis()
    runs.set_title("Planned runs (shade = power)", loc="left", fontsize=10)
    runs.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=tz))
    runs.xaxis.set_major_locator(mdates.HourLocator(byhour=[0, 6, 12, 18], tz=tz))
    for ax in axes:
        ax.grid(alpha=0.25)
        ax.set_xlim(edges[0], edges[-1])

    saved = "" if plan.savings_eur is None else f", saves {plan.savings_eur:.2f} EUR vs no optimisation"
    fig.suptitle(
        f"SHEMS plan for {plan.site_name}: {edges[0]:%a %d %b %H:%M} + {plan.grid.total_hours:.0f} h — "
        f"cost {plan.cost.total:.2f} EUR{saved}",
        fontsize=12,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
