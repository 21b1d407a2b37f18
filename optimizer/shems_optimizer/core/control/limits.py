"""The battery as the controller sees it: energy, SOC window, power limits, efficiencies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatteryLimits:
    """Physical limits of one battery. Powers are AC-side W; SOC is a fraction of ``capacity_wh``.

    Energy model (the same as the planner's): charging ``P`` W for ``h`` hours adds
    ``P * h * charge_efficiency`` Wh; discharging ``P`` W removes ``P * h / discharge_efficiency`` Wh.
    """

    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    soc_min: float = 0.0
    soc_max: float = 1.0
    charge_efficiency: float = 1.0
    discharge_efficiency: float = 1.0
    may_export: bool = True

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0:
            raise ValueError(f"capacity_wh must be > 0 (got {self.capacity_wh})")
        if self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ValueError("max_charge_w and max_discharge_w must be >= 0")
        if not 0.0 <= self.soc_min <= self.soc_max <= 1.0:
            raise ValueError(f"need 0 <= soc_min <= soc_max <= 1 (got {self.soc_min}, {self.soc_max})")
        for name in ("charge_efficiency", "discharge_efficiency"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1] (got {value})")

    def max_charge_to(self, soc: float, target: float, hours: float) -> float:
        """AC power (W) that brings ``soc`` to ``target`` in ``hours``, capped at the charge limit (>= 0)."""
        room_wh = (min(target, self.soc_max) - soc) * self.capacity_wh
        if room_wh <= 0 or hours <= 0:
            return 0.0
        return min(self.max_charge_w, room_wh / self.charge_efficiency / hours)

    def max_discharge_to(self, soc: float, target: float, hours: float) -> float:
        """AC power (W) that brings ``soc`` down to ``target`` in ``hours``, capped at the limit (>= 0)."""
        energy_wh = (soc - max(target, self.soc_min)) * self.capacity_wh
        if energy_wh <= 0 or hours <= 0:
            return 0.0
        return min(self.max_discharge_w, energy_wh * self.discharge_efficiency / hours)

    def soc_after(self, soc: float, battery_w: float, hours: float) -> float:
        """SOC after ``hours`` at ``battery_w`` (positive = charging)."""
        if battery_w >= 0:
            delta_wh = battery_w * hours * self.charge_efficiency
        else:
            delta_wh = battery_w * hours / self.discharge_efficiency
        return soc + delta_wh / self.capacity_wh
