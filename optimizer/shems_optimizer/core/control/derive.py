"""From a plan's trajectories to per-step modes with targets.

Why modes and not setpoints: a plan computed on forecasts says "discharge 1.2 kW at 19:00" because it
expects 1.2 kW of deficit; if the home draws 2 kW, a fixed setpoint imports 0.8 kW although the battery
was meant to cover the evening. The plan's real intent is in its SOC and grid trajectories:

1. it charges faster than forecast PV surplus allows -> :class:`ChargeFromGrid` to the planned end SOC;
2. it discharges more than the forecast deficit -> :class:`DischargeToGrid` to the planned end SOC;
3. otherwise it self-consumes, and only where the plan *chose* to use the grid does the mode carry a
   limit: importing while the battery could have discharged means "keep the energy for later" (floor =
   planned end SOC); exporting while the battery could have charged means "keep room for later"
   (ceiling = planned end SOC). Everything else is absorbed by the battery, as a reactive
   self-consumption rule would, and the next re-plan starts from the SOC actually reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shems_optimizer.core.control.limits import BatteryLimits
from shems_optimizer.core.control.modes import BatteryMode, ChargeFromGrid, DischargeToGrid, SelfConsume


@dataclass(frozen=True)
class PlanStep:
    """One step of a plan, as the planner saw it (forecast load/PV, planned powers and SOC)."""

    start: datetime
    end: datetime
    load_w: float
    pv_w: float
    charge_w: float
    discharge_w: float
    soc_start: float
    soc_end: float
    grid_import_w: float
    grid_export_w: float
    ev_w: float = 0.0


@dataclass(frozen=True)
class StepCommand:
    """What the executor applies from ``start`` to ``end``: a battery mode and the EV power."""

    start: datetime
    end: datetime
    battery: BatteryMode
    ev_w: float = 0.0


def derive_mode(step: PlanStep, limits: BatteryLimits, tolerance_w: float = 50.0) -> BatteryMode:
    """The battery mode that reproduces ``step`` exactly when forecasts are right (see module doc)."""
    net_battery = step.charge_w - step.discharge_w
    charge, discharge = max(net_battery, 0.0), max(-net_battery, 0.0)
    net_home = step.load_w + step.ev_w - step.pv_w
    surplus, deficit = max(-net_home, 0.0), max(net_home, 0.0)
    soc_end = min(max(step.soc_end, limits.soc_min), limits.soc_max)
    if charge > surplus + tolerance_w:
        return ChargeFromGrid(target_soc=soc_end, max_power_w=charge)
    if discharge > deficit + tolerance_w:
        return DischargeToGrid(target_soc=soc_end, max_power_w=discharge)
    floor, ceiling = limits.soc_min, limits.soc_max
    could_discharge = min(deficit, limits.max_discharge_w) - tolerance_w
    if step.grid_import_w > tolerance_w and discharge < could_discharge:
        floor = soc_end
    could_charge = min(surplus, limits.max_charge_w) - tolerance_w
    if step.grid_export_w > tolerance_w and charge < could_charge:
        ceiling = soc_end
    return SelfConsume(soc_floor=floor, soc_ceiling=max(ceiling, floor))


def commands_from_plan(
    steps: Sequence[PlanStep], limits: BatteryLimits, tolerance_w: float = 50.0
) -> list[StepCommand]:
    """One command per plan step, in order."""
    return [
        StepCommand(start=s.start, end=s.end, battery=derive_mode(s, limits, tolerance_w), ev_w=s.ev_w)
        for s in steps
    ]
