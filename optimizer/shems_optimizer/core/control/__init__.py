"""Plan execution semantics shared by the add-on and the backtest (HA-free, no I/O).

A plan is not executed as fixed power setpoints: every plan step becomes a *mode with targets*
(:mod:`.modes`, derived by :mod:`.derive` from the plan's SOC and grid trajectories), and a local
controller (:mod:`.controller`) turns the mode, the actual load and PV and the measured SOC into battery
and EV power each control tick. Forecast errors are then absorbed by the battery inside the plan's SOC
corridor instead of being pushed to the grid.
"""

from shems_optimizer.core.control.controller import LocalController, TickResult
from shems_optimizer.core.control.derive import PlanStep, StepCommand, commands_from_plan, derive_mode
from shems_optimizer.core.control.limits import BatteryLimits
from shems_optimizer.core.control.modes import (
    BatteryMode,
    ChargeFromGrid,
    DischargeToGrid,
    Hold,
    SelfConsume,
)

__all__ = [
    "BatteryLimits",
    "BatteryMode",
    "ChargeFromGrid",
    "DischargeToGrid",
    "Hold",
    "LocalController",
    "PlanStep",
    "SelfConsume",
    "StepCommand",
    "TickResult",
    "commands_from_plan",
    "derive_mode",
]
