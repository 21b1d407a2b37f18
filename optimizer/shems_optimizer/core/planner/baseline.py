"""The no-optimisation baseline: what the same home does on the same day with no planner.

Appliances start at their earliest allowed time, energy loads and the EV draw full power from the
moment they may, thermal loads heat just enough to stay at the bottom of the comfort band, and each
battery runs plain self-consumption (charge from surplus, discharge into deficit). The result is
written into the MILP's own columns, so its objective uses exactly the planner's prices and
penalties: ``plan objective <= baseline objective`` whenever the baseline respects the hard limits.
"""

from __future__ import annotations

import numpy as np

from shems_optimizer.core.plan import Baseline, CostBreakdown
from shems_optimizer.core.planner.build import BuiltModel
from shems_optimizer.core.planner.extract import floats, penalty_columns, stored_value
from shems_optimizer.core.planner.matrix import put
from shems_optimizer.core.planner.thermal_terms import thermal_step
from shems_optimizer.core.timegrid import FloatArray


def simulate_baseline(built: BuiltModel, cost: FloatArray) -> Baseline:
    ctx = built.context
    steps, dt = ctx.steps, ctx.dt
    x = np.zeros(cost.size)
    demand = ctx.series.load_kw.copy()

    for prof in built.profiles:
        if prof.candidates.size:
            x[prof.choose[0]] = 1.0
            demand += prof.energy[0] / dt
        elif prof.missed is not None:
            x[prof.missed[0]] = 1.0

    for en in built.energies:
        first, last = en.window
        need = en.appliance.energy_kwh
        power = np.zeros(steps)
        for t in range(first, last):
            if need <= 1e-9:
                break
            # An on/off load cannot run below its minimum power.
            power[t] = max(min(en.appliance.max_power_kw, need / dt[t]), en.appliance.min_power_kw)
            need -= power[t] * dt[t]
        put(x, en.power, power)
        if en.missed is not None:
            delivered = float(np.sum(power * dt))
            x[en.missed[0]] = max(0.0, en.required_kwh - delivered)
        demand += power

    for ev in built.evs:
        headroom = max(0.0, ev.ev.target_soc - ev.ev.soc_now) * ev.ev.capacity_kwh
        power = np.zeros(steps)
        for t in np.flatnonzero(ev.available > 0):
            if headroom <= 1e-9:
                break
            power[t] = min(ev.ev.max_charge_kw, headroom / (ev.ev.charge_efficiency * dt[t]))
            headroom -= power[t] * ev.ev.charge_efficiency * dt[t]
        put(x, ev.charge, power)
        if ev.short is not None:
            until = ev.deadline_step
            added = float(np.sum(power[:until] * dt[:until])) * ev.ev.charge_efficiency
            x[ev.short[0]] = max(0.0, ev.required_kwh - added)
        demand += power

    for th in built.thermal:
        step = thermal_step(th.load, dt, th.ambient)
        temp = th.load.initial_temp_c
        power = np.zeros(steps)
        temps = np.zeros(steps)
        for t in range(steps):
            free = step.decay[t] * temp + step.drift[t]
            needed = (th.load.min_temp_c - free) / step.gain[t]
            power[t] = float(np.clip(needed, 0.0, th.load.max_power_kw))
            temp = free + step.gain[t] * power[t]
            temps[t] = temp
        x[th.power] = power
        x[th.temperature] = temps
        x[th.too_cold] = np.maximum(th.load.min_temp_c - temps, 0.0)
        x[th.too_hot] = np.maximum(temps - th.load.max_temp_c, 0.0)
        demand += power

    net = demand - ctx.series.pv_kw  # > 0: the house needs power
    socs: dict[str, tuple[float, ...]] = {}
    for bat in built.batteries:
        b = bat.battery
        energy = bat.initial_kwh
        charge = np.zeros(steps)
        discharge = np.zeros(steps)
        stored = np.zeros(steps)
        for t in range(steps):
            if net[t] > 0:
                room = max(0.0, energy - bat.floor_kwh) * b.discharge_efficiency / dt[t]
                discharge[t] = min(net[t], b.max_discharge_kw, room)
            elif net[t] < 0:
                room = max(0.0, bat.ceiling_kwh - energy) / (b.charge_efficiency * dt[t])
                charge[t] = min(-net[t], b.max_charge_kw, room)
            energy += (charge[t] * b.charge_efficiency - discharge[t] / b.discharge_efficiency) * dt[t]
            stored[t] = energy
        net = net - discharge + charge
        x[bat.charge], x[bat.discharge], x[bat.energy] = charge, discharge, stored
        if bat.terminal_short is not None:
            target = min(b.terminal_soc or 0.0, b.soc_max) * b.capacity_kwh
            x[bat.terminal_short[0]] = max(0.0, target - energy)
        socs[b.name] = floats(stored / b.capacity_kwh)

    limits = ctx.site.grid
    imports = np.minimum(np.maximum(net, 0.0), limits.import_limit_kw)
    unserved = np.maximum(net, 0.0) - imports
    surplus = np.maximum(-net, 0.0)
    exports = np.minimum(surplus, limits.export_limit_kw)
    if ctx.site.batteries and all(not b.may_export for b in ctx.site.batteries):
        exports = np.minimum(exports, np.maximum(ctx.series.pv_kw - ctx.series.load_kw, 0.0))
    curtailed = surplus - exports
    x[built.grid.imports], x[built.grid.exports] = imports, exports
    x[built.grid.unserved], x[built.grid.curtailed] = unserved, curtailed
    if built.grid.peak is not None:
        x[built.grid.peak[0]] = float(imports.max())

    wear = sum(
        float(np.sum((x[b.charge] + x[b.discharge]) * dt)) * b.battery.wear_cost_eur_per_kwh
        for b in built.batteries
    )
    penalty = 0.0
    for cols in penalty_columns(built):
        penalty += float(np.dot(cost[cols], x[cols]))
    breakdown = CostBreakdown(
        stored_value_eur=stored_value(built, x),
        import_eur=float(np.sum(ctx.buy * imports * dt)),
        export_eur=float(np.sum(ctx.sell * exports * dt)),
        wear_eur=wear,
        peak_demand_eur=float(imports.max()) * limits.peak_demand_charge_eur_per_kw,
        penalty_eur=penalty,
        stability_eur=0.0,
    )
    return Baseline(
        cost=breakdown,
        objective=float(np.dot(cost, x)) + ctx.model.offset,
        import_kw=floats(imports),
        export_kw=floats(exports),
        battery_soc=socs,
    )
