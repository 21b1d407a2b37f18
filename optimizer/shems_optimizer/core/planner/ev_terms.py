"""Electric vehicles: charging only while plugged in, min/max charger power, target SOC by departure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shems_optimizer.core.model.assets import ElectricVehicle
from shems_optimizer.core.planner.context import BuildContext
from shems_optimizer.core.planner.lazy import SemiContinuous
from shems_optimizer.core.planner.matrix import IntArray
from shems_optimizer.core.timegrid import FloatArray


@dataclass(frozen=True, eq=False)
class EVColumns:
    ev: ElectricVehicle
    charge: IntArray
    available: FloatArray  # 1.0 where the EV is plugged in for the whole step
    deadline_step: int  # steps [0, deadline_step) count towards the target
    required_kwh: float  # energy to add (battery side) by the deadline, 0 if none
    short: IntArray | None
    beyond_horizon_kwh: float  # what can still be added after the horizon, before departure


def ev_availability(ctx: BuildContext, ev: ElectricVehicle) -> tuple[int, int]:
    """Steps ``[first, last)`` during which the EV is plugged in for the whole step."""
    if ev.plugged_in:
        first_time = None
    elif ev.arrival is not None:
        first_time = ev.arrival
    else:
        return 0, 0
    return ctx.window(first_time, ev.departure)


def add_ev(ctx: BuildContext, ev: ElectricVehicle) -> EVColumns:
    m, steps, dt = ctx.model, ctx.steps, ctx.dt
    first, last = ev_availability(ctx, ev)
    available = np.zeros(steps)
    available[first:last] = 1.0
    charge = m.add_window_cols(f"{ev.name}.charge", steps, first, last, ev.max_charge_kw)
    ctx.demand(charge)
    now_kwh = ev.soc_now * ev.capacity_kwh
    target_kwh = ev.target_soc * ev.capacity_kwh
    added = charge[first:last]
    gain = ev.charge_efficiency * dt[first:last]
    # Never beyond the owner's target (the car's own charge limit).
    headroom = max(0.0, target_kwh - now_kwh)
    # A charger cannot go below its minimum power, so the step that reaches the target may pass it
    # by up to one step at that minimum (the car stops at its own limit); without this a car a little
    # short of its target could never be charged at all.
    overshoot = 0.0
    if ev.min_charge_kw > 0 and last > first and headroom > 0:
        overshoot = ev.min_charge_kw * float(np.max(dt[first:last])) * ev.charge_efficiency
    if last > first:
        row = m.add_rows(1, -np.inf, headroom + overshoot)
        m.add_entries(np.full(last - first, row[0]), added, gain)
    if ev.min_charge_kw > 0 and last > first:
        ctx.lazy.append(SemiContinuous(added, ev.min_charge_kw, ev.max_charge_kw))
    # What must be reached inside the horizon: the target, less what the remaining plugged-in time
    # after the horizon end (until departure) can still add at full power.
    beyond = 0.0
    if ev.departure is not None and ev.departure > ctx.grid.end and last == steps:
        hours_after = (ev.departure - ctx.grid.end).total_seconds() / 3600.0
        beyond = hours_after * ev.max_charge_kw * ev.charge_efficiency
    required = max(0.0, headroom - beyond)
    if ev.departure is None:
        required = 0.0  # no deadline: charge only when it pays
    short = None
    if required > 1e-9:
        short = m.add_cols(f"{ev.name}.short", 1, 0.0, required, ctx.goal_penalty)
        row = m.add_rows(1, required, np.inf)
        if last > first:
            m.add_entries(np.full(last - first, row[0]), added, gain)
        m.add_entries(row, short, 1.0)
    return EVColumns(
        ev=ev,
        charge=charge,
        available=available,
        deadline_step=last,
        required_kwh=required,
        short=short,
        beyond_horizon_kwh=beyond,
    )
