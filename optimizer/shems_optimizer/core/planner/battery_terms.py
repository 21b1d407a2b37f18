"""Stationary batteries: energy balance, SOC band, charge/discharge exclusivity, wear, terminal goal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shems_optimizer.core.model.assets import Battery
from shems_optimizer.core.planner.context import BuildContext
from shems_optimizer.core.planner.matrix import IntArray


@dataclass(frozen=True, eq=False)
class BatteryColumns:
    battery: Battery
    charge: IntArray
    discharge: IntArray
    energy: IntArray  # kWh stored at the end of each step
    terminal_short: IntArray | None
    initial_kwh: float
    floor_kwh: float
    ceiling_kwh: float


def add_battery(ctx: BuildContext, battery: Battery) -> BatteryColumns:
    m, steps, dt = ctx.model, ctx.steps, ctx.dt
    cap = battery.capacity_kwh
    e0 = battery.initial_soc * cap
    # A battery already outside its band may stay there but not go further out (documented repair).
    floor = min(battery.soc_min * cap, e0)
    ceiling = max(battery.soc_max * cap, e0)
    wear = battery.wear_cost_eur_per_kwh * dt
    charge = m.add_cols(f"{battery.name}.charge", steps, 0.0, battery.max_charge_kw, wear)
    discharge = m.add_cols(f"{battery.name}.discharge", steps, 0.0, battery.max_discharge_kw, wear)
    energy = m.add_cols(f"{battery.name}.energy", steps, floor, ceiling)
    previous = np.concatenate(([-1], energy[:-1]))
    rhs = np.zeros(steps)
    rhs[0] = e0
    # e[t] − e[t−1] − η_c·Δt·charge + Δt/η_d·discharge = 0  (e[−1] = initial energy, moved to the rhs)
    m.add_constraints(
        [
            (energy, 1.0),
            (previous, -1.0),
            (charge, -battery.charge_efficiency * dt),
            (discharge, dt / battery.discharge_efficiency),
        ],
        rhs,
        rhs,
    )
    ctx.supply(discharge)
    ctx.demand(charge)
    if ctx.options.exclusive_battery_modes and battery.max_charge_kw > 0 and battery.max_discharge_kw > 0:
        ctx.add_switch(
            charge, discharge, np.full(steps, battery.max_charge_kw), np.full(steps, battery.max_discharge_kw)
        )
    short = None
    if battery.terminal_soc is not None:
        target = min(battery.terminal_soc, battery.soc_max) * cap
        short = m.add_cols(f"{battery.name}.terminal_short", 1, 0.0, target, ctx.goal_penalty)
        m.add_constraints([(energy[-1:], 1.0), (short, 1.0)], target, np.inf)
    elif battery.terminal_value_eur_per_kwh:
        m.add_cost(energy[-1:], -battery.terminal_value_eur_per_kwh)
    return BatteryColumns(
        battery=battery,
        charge=charge,
        discharge=discharge,
        energy=energy,
        terminal_short=short,
        initial_kwh=e0,
        floor_kwh=floor,
        ceiling_kwh=ceiling,
    )
