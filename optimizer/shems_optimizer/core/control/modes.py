"""Battery modes: what the battery should do during one plan step, as intent plus targets.

Each mode says how to react to whatever the actual load and PV turn out to be:

- :class:`SelfConsume` — cover the home's deficit from the battery down to ``soc_floor`` and store PV
  surplus up to ``soc_ceiling``; the grid takes what is left. With floor = soc_min and ceiling = soc_max
  this is the classic self-consumption rule; a higher floor keeps energy for later, a lower ceiling
  keeps room for later.
- :class:`ChargeFromGrid` — charge toward ``target_soc`` at up to ``max_power_w`` (PV surplus first,
  the grid for the rest); once there, self-consume without going below the target.
- :class:`DischargeToGrid` — discharge toward ``target_soc`` at up to ``max_power_w`` (to the home first,
  the rest exported); once there, self-consume without going below the target.
- :class:`Hold` — the battery rests; the grid balances the home.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SelfConsume:
    soc_floor: float
    soc_ceiling: float

    def describe(self) -> str:
        return f"self-consume within SOC {self.soc_floor:.0%}-{self.soc_ceiling:.0%}"


@dataclass(frozen=True)
class _TowardTarget:
    """A transfer with the grid toward ``target_soc`` at up to ``max_power_w``."""

    target_soc: float
    max_power_w: float


@dataclass(frozen=True)
class ChargeFromGrid(_TowardTarget):
    def describe(self) -> str:
        return f"charge from the grid to {self.target_soc:.0%} at up to {self.max_power_w:.0f} W"


@dataclass(frozen=True)
class DischargeToGrid(_TowardTarget):
    def describe(self) -> str:
        return f"discharge to {self.target_soc:.0%} at up to {self.max_power_w:.0f} W"


@dataclass(frozen=True)
class Hold:
    def describe(self) -> str:
        return "hold: battery idle"


BatteryMode = SelfConsume | ChargeFromGrid | DischargeToGrid | Hold
