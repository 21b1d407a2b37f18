"""Closed-loop simulation of one battery against measured load, PV and prices.

Every strategy runs through :class:`~shems_optimizer.core.control.LocalController` with the measured load
and PV of each step, so the only difference between them is the mode chosen per step:

- ``no_battery``: the grid balances the home (reference cost);
- ``rule_based``: self-consumption within the battery's SOC limits, no planning;
- ``mpc``: every ``replan_steps`` forecast, plan with the optimizer, derive modes
  (:func:`~shems_optimizer.core.control.commands_from_plan`) and follow them until the next re-plan;
  ``execution="setpoints"`` instead applies the planned battery power as a fixed setpoint;
- ``perfect``: the same planner fed with the measured future (perfect foresight).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shems_optimizer.app.backtest.planning import plan_battery
from shems_optimizer.core.control.controller import LocalController, TickResult
from shems_optimizer.core.control.derive import PlanStep, commands_from_plan
from shems_optimizer.core.control.limits import BatteryLimits
from shems_optimizer.core.control.modes import SelfConsume
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.planner import Options

# Forecast provider for the MPC: origin position, steps -> (load W, PV W, buy, sell) arrays.
ForecastFn = Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]


@dataclass(frozen=True, eq=False)
class Market:
    """Actual retail prices per grid position (EUR/kWh)."""

    buy: np.ndarray
    sell: np.ndarray


@dataclass(frozen=True, eq=False)
class Replay:
    """What every strategy is replayed against: the measured load and PV (W), the actual prices, the
    battery, its SOC at ``start``, the grid positions ``[start, end)`` and the step length in hours."""

    load: np.ndarray
    pv: np.ndarray
    market: Market
    limits: BatteryLimits
    soc: float
    start: int
    end: int
    hours: float


@dataclass
class StrategyResult:
    name: str
    cost_eur: float = 0.0
    import_kwh: float = 0.0
    export_kwh: float = 0.0
    throughput_kwh: float = 0.0
    final_soc: float | None = None
    plans: int = 0
    plan_seconds: float = 0.0
    not_optimal: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, tick: TickResult, buy: float, sell: float, hours: float) -> None:
        self.import_kwh += tick.import_w * hours / 1000.0
        self.export_kwh += tick.export_w * hours / 1000.0
        self.cost_eur += (tick.import_w * buy - tick.export_w * sell) * hours / 1000.0
        self.throughput_kwh += abs(tick.battery_w) * hours / 1000.0


def simulate_no_battery(replay: Replay) -> StrategyResult:
    start, end, hours, market = replay.start, replay.end, replay.hours, replay.market
    net = replay.load[start:end] - replay.pv[start:end]
    imp, exp = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    result = StrategyResult("no_battery")
    result.import_kwh = float(imp.sum() * hours / 1000.0)
    result.export_kwh = float(exp.sum() * hours / 1000.0)
    result.cost_eur = float(
        (imp * market.buy[start:end] - exp * market.sell[start:end]).sum() * hours / 1000.0
    )
    return result


def simulate_rule_based(replay: Replay) -> StrategyResult:
    limits, hours, soc = replay.limits, replay.hours, replay.soc
    controller = LocalController(limits)
    mode = SelfConsume(limits.soc_min, limits.soc_max)
    result = StrategyResult("rule_based")
    for i in range(replay.start, replay.end):
        tick = controller.tick(mode, float(replay.load[i]), float(replay.pv[i]), soc, hours * 3600.0)
        result.add(tick, float(replay.market.buy[i]), float(replay.market.sell[i]), hours)
        soc = tick.soc
    result.final_soc = soc
    return result


def simulate_mpc(
    name: str,
    replay: Replay,
    site: Site,
    index: pd.DatetimeIndex,
    forecast: ForecastFn,
    replan_steps: int,
    horizon_steps: int,
    options: Options,
    execution: str = "modes",
    progress: Callable[[int], None] | None = None,
) -> StrategyResult:
    """Re-plan every ``replan_steps`` from the SOC actually reached and execute until the next plan."""
    if execution not in ("modes", "setpoints"):
        raise ValueError(f"execution must be 'modes' or 'setpoints', not {execution!r}")
    load, pv, market, limits, soc = replay.load, replay.pv, replay.market, replay.limits, replay.soc
    start, end = replay.start, replay.end
    step = pd.Timedelta(index[1] - index[0])
    hours = step / pd.Timedelta(hours=1)
    controller = LocalController(limits)
    result = StrategyResult(name)
    for origin in range(start, end, replan_steps):
        load_fc, pv_fc, buy_fc, sell_fc = forecast(origin, min(horizon_steps, len(index) - origin))
        steps_here = len(load_fc)  # shorter near the end of the data
        began = time.perf_counter()
        plan, status = plan_battery(
            site, soc, index[origin : origin + steps_here], step, load_fc, pv_fc, buy_fc, sell_fc, options
        )
        result.plan_seconds += time.perf_counter() - began
        result.plans += 1
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status != "optimal":
            result.not_optimal += 1
        commands = commands_from_plan(plan, limits)
        for k in range(min(replan_steps, end - origin)):
            i = origin + k
            if execution == "modes":
                tick = controller.tick(commands[k].battery, float(load[i]), float(pv[i]), soc, hours * 3600.0)
            else:
                tick = _setpoint_tick(plan[k], limits, float(load[i]), float(pv[i]), soc, hours)
            result.add(tick, float(market.buy[i]), float(market.sell[i]), hours)
            soc = tick.soc
        if progress is not None:
            progress(origin)
    result.final_soc = soc
    return result


def _setpoint_tick(
    step: PlanStep, limits: BatteryLimits, load: float, pv: float, soc: float, hours: float
) -> TickResult:
    """The planned battery power as a fixed setpoint, clipped only by the SOC limits."""
    wanted = step.charge_w - step.discharge_w
    if wanted >= 0:
        power = min(wanted, limits.max_charge_to(soc, limits.soc_max, hours))
    else:
        power = -min(-wanted, limits.max_discharge_to(soc, limits.soc_min, hours))
    new_soc = limits.soc_after(soc, power, hours)
    return TickResult(battery_w=power, ev_w=0.0, grid_w=load - pv + power, soc=new_soc)
