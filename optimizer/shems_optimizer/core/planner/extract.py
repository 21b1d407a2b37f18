"""Turn a solver's column values back into a :class:`~shems_optimizer.core.plan.Plan`."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from shems_optimizer.core.plan import (
    AppliancePlan,
    BatteryPlan,
    CostBreakdown,
    EVPlan,
    GridPlan,
    Run,
    ThermalPlan,
)
from shems_optimizer.core.planner.appliance_terms import EnergyColumns, ProfileColumns
from shems_optimizer.core.planner.build import BuiltModel
from shems_optimizer.core.planner.ev_terms import EVColumns
from shems_optimizer.core.planner.matrix import IntArray, take
from shems_optimizer.core.timegrid import FloatArray, TimeGrid

CLEAN = 1e-7


def floats(values: FloatArray) -> tuple[float, ...]:
    """Plain floats with solver noise (|v| < 1e-7) set to exactly 0."""
    cleaned = np.where(np.abs(values) < CLEAN, 0.0, values)
    return tuple(float(v) for v in cleaned)


def cancel_simultaneous_flows(built: BuiltModel, x: FloatArray) -> FloatArray:
    """Remove import and export in the same step (net unchanged; never costlier when buy >= sell,
    the only case in which the model carries no binary for it)."""
    cols = built.grid
    both = np.minimum(x[cols.imports], x[cols.exports])
    if np.any(both > 0):
        x = x.copy()
        x[cols.imports] -= both
        x[cols.exports] -= both
    return x


def grid_plan(built: BuiltModel, x: FloatArray) -> GridPlan:
    ctx, cols = built.context, built.grid
    curtailed = x[cols.curtailed]
    return GridPlan(
        import_kw=floats(x[cols.imports]),
        export_kw=floats(x[cols.exports]),
        pv_used_kw=floats(ctx.series.pv_kw - curtailed),
        pv_curtailed_kw=floats(curtailed),
        unserved_load_kw=floats(x[cols.unserved]),
        load_kw=floats(ctx.series.load_kw),
        pv_forecast_kw=floats(ctx.series.pv_kw),
        buy_eur_per_kwh=floats(ctx.buy),
        sell_eur_per_kwh=floats(ctx.sell),
    )


def battery_plans(built: BuiltModel, x: FloatArray) -> tuple[BatteryPlan, ...]:
    out = []
    for cols in built.batteries:
        cap = cols.battery.capacity_kwh
        out.append(
            BatteryPlan(
                name=cols.battery.name,
                charge_kw=floats(x[cols.charge]),
                discharge_kw=floats(x[cols.discharge]),
                soc=tuple(float(v) for v in np.clip(x[cols.energy] / cap, 0.0, 1.0)),
                soc_start=cols.battery.initial_soc,
            )
        )
    return tuple(out)


def ev_plan_from_power(cols: EVColumns, power: FloatArray, hours: FloatArray) -> EVPlan:
    ev = cols.ev
    added = np.cumsum(ev.charge_efficiency * power * hours)
    soc = np.clip(ev.soc_now + added / ev.capacity_kwh, 0.0, 1.0)
    return EVPlan(
        name=ev.name,
        charge_kw=floats(power),
        soc=tuple(float(v) for v in soc),
        soc_start=ev.soc_now,
        plugged_in=tuple(bool(a) for a in cols.available > 0),
    )


def ev_plans(built: BuiltModel, x: FloatArray) -> tuple[EVPlan, ...]:
    hours = built.context.dt
    return tuple(ev_plan_from_power(cols, take(x, cols.charge), hours) for cols in built.evs)


def runs_of(power: FloatArray, grid: TimeGrid) -> tuple[Run, ...]:
    """Maximal stretches of consecutive steps with power > 0."""
    on = power > 1e-6
    out: list[Run] = []
    t = 0
    while t < on.size:
        if on[t]:
            u = t
            while u + 1 < on.size and on[u + 1]:
                u += 1
            out.append(Run(start=grid.starts[t], end=grid.ends[u]))
            t = u + 1
        else:
            t += 1
    return tuple(out)


def profile_plan_from_choice(cols: ProfileColumns, chosen: int | None, grid: TimeGrid) -> AppliancePlan:
    if chosen is None:
        power = np.zeros(grid.steps)
        runs: tuple[Run, ...] = ()
        energy = 0.0
    else:
        power = cols.energy[chosen] / grid.hours
        start = grid.starts[int(cols.candidates[chosen])]
        runs = (Run(start=start, end=start + timedelta(seconds=cols.appliance.duration.total_seconds())),)
        energy = float(cols.energy[chosen].sum())
    return AppliancePlan(
        name=cols.appliance.name, kind="profile", power_kw=floats(power), runs=runs, energy_kwh=energy
    )


def chosen_start(cols: ProfileColumns, x: FloatArray) -> int | None:
    if cols.choose.size == 0:
        return None
    values = x[cols.choose]
    best = int(np.argmax(values))
    return best if values[best] > 0.5 else None


def appliance_plans(built: BuiltModel, x: FloatArray) -> tuple[AppliancePlan, ...]:
    grid = built.context.grid
    out = [profile_plan_from_choice(cols, chosen_start(cols, x), grid) for cols in built.profiles]
    out += [energy_plan_from_power(cols, take(x, cols.power), grid) for cols in built.energies]
    order = {a.name: i for i, a in enumerate(built.context.site.appliances)}
    return tuple(sorted(out, key=lambda a: order[a.name]))


def energy_plan_from_power(cols: EnergyColumns, power: FloatArray, grid: TimeGrid) -> AppliancePlan:
    return AppliancePlan(
        name=cols.appliance.name,
        kind="energy",
        power_kw=floats(power),
        runs=runs_of(power, grid),
        energy_kwh=float(np.sum(power * grid.hours)),
    )


def thermal_plans(built: BuiltModel, x: FloatArray) -> tuple[ThermalPlan, ...]:
    return tuple(
        ThermalPlan(
            name=cols.load.name,
            power_kw=floats(x[cols.power]),
            temperature_c=tuple(float(v) for v in x[cols.temperature]),
            initial_temp_c=cols.load.initial_temp_c,
        )
        for cols in built.thermal
    )


def penalty_columns(built: BuiltModel) -> list[IntArray]:
    cols: list[IntArray] = [built.grid.unserved, built.grid.curtailed]
    cols += [b.terminal_short for b in built.batteries if b.terminal_short is not None]
    cols += [e.short for e in built.evs if e.short is not None]
    cols += [p.missed for p in built.profiles if p.missed is not None]
    cols += [e.missed for e in built.energies if e.missed is not None]
    for t in built.thermal:
        cols += [t.too_cold, t.too_hot]
    return cols


def stored_value(built: BuiltModel, x: FloatArray) -> float:
    """Final battery energy valued at each battery's terminal value (when it has no SOC target)."""
    return sum(
        float(x[b.energy[-1]]) * b.battery.terminal_value_eur_per_kwh
        for b in built.batteries
        if b.battery.terminal_soc is None
    )


def cost_breakdown(built: BuiltModel, x: FloatArray, cost: FloatArray) -> CostBreakdown:
    ctx = built.context
    dt = ctx.dt
    imports, exports = x[built.grid.imports], x[built.grid.exports]
    wear = 0.0
    for b in built.batteries:
        wear += float(np.sum((x[b.charge] + x[b.discharge]) * dt) * b.battery.wear_cost_eur_per_kwh)
    peak = 0.0
    if built.grid.peak is not None:
        peak = float(x[built.grid.peak][0]) * ctx.site.grid.peak_demand_charge_eur_per_kw
    penalty = sum(float(np.dot(cost[c], x[c])) for c in penalty_columns(built))
    stability = sum(float(np.dot(cost[c], x[c])) for c in built.stability)
    return CostBreakdown(
        stored_value_eur=stored_value(built, x),
        import_eur=float(np.sum(ctx.buy * imports * dt)),
        export_eur=float(np.sum(ctx.sell * exports * dt)),
        wear_eur=wear,
        peak_demand_eur=peak,
        penalty_eur=penalty,
        stability_eur=stability,
    )
