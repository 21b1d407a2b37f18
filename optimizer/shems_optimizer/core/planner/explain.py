"""Unmet goals, in words a homeowner understands.

For every soft goal the solution did not reach, say what was wanted, what the plan achieves and the
physical reason: first the asset's own limits (hours plugged in × charger power, window length), then
shared limits (the grid connection), and only then "other goals competed", which with the default
penalties means a higher-priority need (supplying the house) won.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from shems_optimizer.core.model.assets import (
    Battery,
    ElectricVehicle,
    EnergyAppliance,
    ProfileAppliance,
    ThermalLoad,
)
from shems_optimizer.core.plan import AppliancePlan, BatteryPlan, EVPlan, ThermalPlan, UnmetGoal
from shems_optimizer.core.planner.build import BuiltModel
from shems_optimizer.core.planner.context import BuildContext
from shems_optimizer.core.planner.thermal_terms import ThermalColumns, thermal_step
from shems_optimizer.core.timegrid import FloatArray

KWH_TOLERANCE = 0.01
KELVIN_TOLERANCE = 0.05


Named = Battery | ElectricVehicle | ProfileAppliance | EnergyAppliance | ThermalLoad


def shown(asset: Named, kind: str = "") -> str:
    """The name people gave the asset; without one (a scenario file), its kind and model name."""
    if asset.label:
        return asset.label
    return f"{kind} {asset.name}" if kind else asset.name


def when(ctx: BuildContext, moment: datetime) -> str:
    local = moment.astimezone(ctx.grid.tz)
    start = ctx.grid.start.astimezone(ctx.grid.tz)
    return local.strftime("%H:%M") if local.date() == start.date() else local.strftime("%a %H:%M")


def hours_text(hours: float) -> str:
    if abs(hours - round(hours)) < 1e-6:
        return f"{round(hours)} h"
    minutes = round(hours * 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _grid_busy(ctx: BuildContext, imports: FloatArray, steps: slice) -> bool:
    window = imports[steps]
    return bool(window.size and np.any(window >= ctx.site.grid.import_limit_kw - 1e-3))


def explain_unmet(
    built: BuiltModel,
    x: FloatArray,
    evs: tuple[EVPlan, ...],
    appliances: tuple[AppliancePlan, ...],
    batteries: tuple[BatteryPlan, ...],
    thermal: tuple[ThermalPlan, ...],
) -> tuple[UnmetGoal, ...]:
    ctx = built.context
    dt = ctx.dt
    imports = x[built.grid.imports]
    out: list[UnmetGoal] = []

    unserved = x[built.grid.unserved]
    if np.sum(unserved * dt) > KWH_TOLERANCE:
        hours = float(np.sum(dt[unserved > 1e-6]))
        worst = int(np.argmax(unserved))
        out.append(
            UnmetGoal(
                asset="house",
                goal="supply",
                wanted=float(np.sum(ctx.series.load_kw * dt)),
                achieved=float(np.sum((ctx.series.load_kw - unserved) * dt)),
                unit="kWh",
                explanation=(
                    f"The house load cannot be fully supplied for {hours_text(hours)} "
                    f"(from {when(ctx, ctx.grid.starts[worst])} it needs "
                    f"{ctx.series.load_kw[worst]:.1f} kW; the grid connection gives at most "
                    f"{ctx.site.grid.import_limit_kw:g} kW plus what PV and batteries add)."
                ),
            )
        )
    curtailed = x[built.grid.curtailed]
    if not ctx.site.pv.curtailable and np.sum(curtailed * dt) > KWH_TOLERANCE:
        out.append(
            UnmetGoal(
                asset="pv",
                goal="no_curtailment",
                wanted=0.0,
                achieved=float(np.sum(curtailed * dt)),
                unit="kWh",
                explanation=(
                    f"{np.sum(curtailed * dt):.1f} kWh of solar must be curtailed although PV is marked "
                    f"non-curtailable: the house, the batteries and the {ctx.site.grid.export_limit_kw:g} kW "
                    "export limit cannot take it all."
                ),
            )
        )

    for cols, plan in zip(built.batteries, batteries, strict=True):
        b = cols.battery
        if cols.terminal_short is None or x[cols.terminal_short[0]] <= KWH_TOLERANCE:
            continue
        target = min(b.terminal_soc or 0.0, b.soc_max)
        reachable = min(
            cols.ceiling_kwh, cols.initial_kwh + b.max_charge_kw * b.charge_efficiency * ctx.grid.total_hours
        )
        if reachable < target * b.capacity_kwh - KWH_TOLERANCE:
            why = (
                f"it can take at most {b.max_charge_kw:g} kW for {hours_text(ctx.grid.total_hours)}, "
                f"which reaches {100 * reachable / b.capacity_kwh:.0f} %"
            )
        else:
            why = "other needs of the house used the available power first"
        out.append(
            UnmetGoal(
                asset=b.name,
                goal="terminal_soc",
                wanted=target,
                achieved=plan.soc[-1],
                unit="soc",
                explanation=(
                    f"{shown(b, 'Battery')} ends at {100 * plan.soc[-1]:.0f} %, not {100 * target:.0f} %, "
                    f"at {when(ctx, ctx.grid.end)}: {why}."
                ),
            )
        )

    for ev_cols, ev_plan in zip(built.evs, evs, strict=True):
        ev = ev_cols.ev
        if ev_cols.short is None or x[ev_cols.short[0]] <= KWH_TOLERANCE:
            continue
        deadline = ev_cols.deadline_step
        plugged_h = float(np.sum(dt[:deadline] * ev_cols.available[:deadline]))
        reached = ev_plan.soc[deadline - 1] if deadline > 0 else ev.soc_now
        by = ev.departure if ev.departure is not None else ctx.grid.end
        by_text = when(ctx, by) if by <= ctx.grid.end else f"the end of the plan ({when(ctx, ctx.grid.end)})"
        max_add = plugged_h * ev.max_charge_kw * ev.charge_efficiency
        wanted = ev.target_soc
        if ev_cols.beyond_horizon_kwh > 0:
            wanted = ev.soc_now + ev_cols.required_kwh / ev.capacity_kwh
        if plugged_h <= 0:
            why = (
                "it is not plugged in during the plan"
                if not ev.plugged_in
                else "it leaves before the first step"
            )
        elif ev.soc_now + max_add / ev.capacity_kwh < wanted - 1e-3:
            why = (
                f"{hours_text(plugged_h)} × {ev.max_charge_kw:g} kW adds at most {max_add:.1f} kWh "
                f"({100 * max_add / ev.capacity_kwh:.0f} % of its {ev.capacity_kwh:g} kWh)"
            )
        elif _grid_busy(ctx, imports, slice(0, deadline)):
            why = (
                f"the {ctx.site.grid.import_limit_kw:g} kW grid connection is shared with the house "
                "while it charges"
            )
        else:
            why = "other needs of the house used the available power first"
        out.append(
            UnmetGoal(
                asset=ev.name,
                goal="ev_target_soc",
                wanted=wanted,
                achieved=reached,
                unit="soc",
                explanation=(
                    f"{shown(ev, 'EV')} reaches {100 * reached:.0f} %, not {100 * wanted:.0f} %, "
                    f"by {by_text}: {why}."
                ),
            )
        )

    plans = {a.name: a for a in appliances}
    for prof in built.profiles:
        if prof.missed is None or x[prof.missed[0]] < 0.5:
            continue
        app = prof.appliance
        start = app.earliest_start or ctx.grid.start
        finish = app.latest_finish or ctx.grid.end
        if prof.candidates.size == 0:
            limit = min(finish, ctx.grid.end)
            why = (
                f"its {hours_text(app.duration.total_seconds() / 3600)} programme does not fit between "
                f"{when(ctx, max(start, ctx.grid.start))} and {when(ctx, limit)}"
            )
            if finish > ctx.grid.end:
                why += " (the end of this plan)"
        else:
            why = f"the {ctx.site.grid.import_limit_kw:g} kW grid connection has no room for it in its window"
        out.append(
            UnmetGoal(
                asset=app.name,
                goal="appliance_deadline",
                wanted=1.0,
                achieved=0.0,
                unit="runs",
                explanation=f"{shown(app)} cannot run in this plan: {why}.",
            )
        )
    for en in built.energies:
        if en.missed is None or x[en.missed[0]] <= KWH_TOLERANCE:
            continue
        need = en.appliance
        got = plans[need.name].energy_kwh
        first, last = en.window
        window_h = float(np.sum(dt[first:last]))
        finish = need.latest_finish or ctx.grid.end
        by_text = when(ctx, min(finish, ctx.grid.end))
        wanted = en.required_kwh
        if window_h * need.max_power_kw < wanted - KWH_TOLERANCE:
            why = (
                f"{hours_text(window_h)} × {need.max_power_kw:g} kW allows at most "
                f"{window_h * need.max_power_kw:.1f} kWh"
            )
        elif _grid_busy(ctx, imports, slice(first, last)):
            why = (
                f"the {ctx.site.grid.import_limit_kw:g} kW grid connection is shared with the house "
                "in that window"
            )
        else:
            why = (
                "its minimum on/off times leave too few usable steps"
                if need.is_on_off
                else "other needs came first"
            )
        out.append(
            UnmetGoal(
                asset=need.name,
                goal="appliance_energy",
                wanted=wanted,
                achieved=got,
                unit="kWh",
                explanation=(f"{shown(need)} gets {got:.1f} kWh of {wanted:.1f} kWh by {by_text}: {why}."),
            )
        )

    for th_cols, th_plan in zip(built.thermal, thermal, strict=True):
        load = th_cols.load
        cold = x[th_cols.too_cold]
        hot = x[th_cols.too_hot]
        for kind, slack, bound in (("cold", cold, load.min_temp_c), ("hot", hot, load.max_temp_c)):
            if slack.max(initial=0.0) <= KELVIN_TOLERANCE:
                continue
            steps = slack > KELVIN_TOLERANCE
            hours = float(np.sum(dt[steps]))
            first = int(np.argmax(steps))
            temps = np.asarray(th_plan.temperature_c)
            extreme = float(temps[steps].min() if kind == "cold" else temps[steps].max())
            if kind == "cold":
                flat_out = _full_power_temperatures(th_cols, dt)
                if np.any(flat_out[steps] < load.min_temp_c - KELVIN_TOLERANCE) and first == 0:
                    why = (
                        f"it starts at {load.initial_temp_c:g} °C and {load.max_power_kw:g} kW "
                        f"(× COP {load.cop:g}) cannot heat it faster"
                    )
                elif np.any(flat_out[steps] < load.min_temp_c - KELVIN_TOLERANCE):
                    why = f"{load.max_power_kw:g} kW (× COP {load.cop:g}) is not enough against the losses"
                elif _grid_busy(ctx, imports, slice(0, ctx.steps)):
                    why = f"the {ctx.site.grid.import_limit_kw:g} kW grid connection is shared with the house"
                else:
                    why = "other needs of the house used the available power first"
                side = "below the comfort minimum"
            else:
                why = "heat gains exceed what the model can remove (heating only)"
                side = "above the comfort maximum"
            out.append(
                UnmetGoal(
                    asset=load.name,
                    goal="comfort",
                    wanted=bound,
                    achieved=extreme,
                    unit="°C",
                    explanation=(
                        f"{shown(load)} is {side} of {bound:g} °C for {hours_text(hours)} from "
                        f"{when(ctx, ctx.grid.starts[first])} (down to {extreme:.1f} °C): {why}."
                        if kind == "cold"
                        else f"{shown(load)} is {side} of {bound:g} °C for {hours_text(hours)} "
                        f"(up to {extreme:.1f} °C): {why}."
                    ),
                )
            )
    return tuple(out)


def _full_power_temperatures(cols: ThermalColumns, hours: FloatArray) -> FloatArray:
    """Temperatures if the load heated at full power from the first step (the physical best)."""
    step = thermal_step(cols.load, hours, cols.ambient)
    temps = np.zeros(hours.size)
    temp = cols.load.initial_temp_c
    for t in range(hours.size):
        temp = step.decay[t] * temp + step.gain[t] * cols.load.max_power_kw + step.drift[t]
        temps[t] = temp
    return temps


def fmt_duration(value: timedelta) -> str:
    return hours_text(value.total_seconds() / 3600.0)
