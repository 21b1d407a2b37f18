"""The local control loop: mode + actual load and PV + measured SOC -> battery power and grid exchange.

Runs every control tick (seconds in the add-on, one data step in the backtest). It is deliberately
stateless: everything it needs arrives with the call, so the add-on and the backtest execute the exact
same arithmetic and a restart loses nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shems_optimizer.core.control.limits import BatteryLimits
from shems_optimizer.core.control.modes import BatteryMode, ChargeFromGrid, DischargeToGrid, Hold, SelfConsume

_SOC_EPS = 1e-6


@dataclass(frozen=True)
class TickResult:
    """What to do for this tick. ``battery_w`` > 0 charges; ``grid_w`` > 0 imports."""

    battery_w: float
    ev_w: float
    grid_w: float
    soc: float

    @property
    def import_w(self) -> float:
        return max(self.grid_w, 0.0)

    @property
    def export_w(self) -> float:
        return max(-self.grid_w, 0.0)


class LocalController:
    """Follows a :data:`BatteryMode` against measured conditions, within the battery's limits."""

    def __init__(self, limits: BatteryLimits) -> None:
        self.limits = limits

    def tick(
        self, mode: BatteryMode, load_w: float, pv_w: float, soc: float, seconds: float, ev_w: float = 0.0
    ) -> TickResult:
        """Battery power for the next ``seconds``, given the home's load, PV, EV power and SOC now."""
        for name, value in (("load_w", load_w), ("pv_w", pv_w), ("soc", soc), ("ev_w", ev_w)):
            if not math.isfinite(value):
                raise ValueError(f"{name} is not a number ({value}): the controller needs a measurement")
        if load_w < 0 or pv_w < 0 or ev_w < 0:
            raise ValueError(f"load_w, pv_w and ev_w must be >= 0 (got {load_w}, {pv_w}, {ev_w})")
        if seconds <= 0:
            raise ValueError(f"tick length must be > 0 s (got {seconds})")
        hours = seconds / 3600.0
        net = load_w + ev_w - pv_w
        battery_w = self._battery_power(mode, net, soc, hours)
        new_soc = min(max(self.limits.soc_after(soc, battery_w, hours), 0.0), 1.0)
        return TickResult(battery_w=battery_w, ev_w=ev_w, grid_w=net + battery_w, soc=new_soc)

    def _battery_power(self, mode: BatteryMode, net: float, soc: float, hours: float) -> float:
        lim = self.limits
        if isinstance(mode, Hold):
            return 0.0
        if isinstance(mode, SelfConsume):
            return self._self_consume(net, soc, hours, mode.soc_floor, mode.soc_ceiling)
        if isinstance(mode, ChargeFromGrid):
            if soc >= mode.target_soc - _SOC_EPS:
                return self._self_consume(net, soc, hours, mode.target_soc, lim.soc_max)
            wanted = min(mode.max_power_w, lim.max_charge_to(soc, mode.target_soc, hours))
            from_surplus = min(max(-net, 0.0), lim.max_charge_to(soc, lim.soc_max, hours))
            return max(wanted, from_surplus)
        if isinstance(mode, DischargeToGrid):
            if soc <= mode.target_soc + _SOC_EPS:
                return self._self_consume(net, soc, hours, mode.target_soc, lim.soc_max)
            available = lim.max_discharge_to(soc, mode.target_soc, hours)
            power = max(min(mode.max_power_w, available), min(max(net, 0.0), available))
            if not lim.may_export:
                power = min(power, max(net, 0.0))
            return -power
        raise TypeError(f"unknown battery mode {mode!r}")

    def _self_consume(self, net: float, soc: float, hours: float, floor: float, ceiling: float) -> float:
        if net > 0:
            return -min(net, self.limits.max_discharge_to(soc, floor, hours))
        return min(-net, self.limits.max_charge_to(soc, ceiling, hours))
