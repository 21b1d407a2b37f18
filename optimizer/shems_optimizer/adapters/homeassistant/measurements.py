"""What the plan executor measures, from the live device state and Home Assistant.

Sign conventions are the store's: grid ``power_w`` + import / − export, PV production as its absolute
value, battery + charge / − discharge, EV + charging. The home's own load is what remains:
``load = grid + pv − battery − ev``. Without a grid meter there is no measurement and the executor
applies modes only.
"""

from __future__ import annotations

from shems_optimizer.app.devices.devices import DeviceRegistry
from shems_optimizer.app.records.models import DeviceType

from .live_inputs import LiveInputs


class LiveMeasurements:
    def __init__(self, devices: DeviceRegistry, live: LiveInputs) -> None:
        self._devices = devices
        self._live = live

    def _power(self, kind: DeviceType) -> float | None:
        total, found = 0.0, False
        for device in self._devices.devices():
            if device.type is not kind:
                continue
            status = self._devices.latest_status(device.id) or {}
            state = status.get("state") or {}
            if state.get("power_w") is None:
                continue
            total += float(state["power_w"])
            found = True
        return total if found else None

    def home_w(self) -> tuple[float, float] | None:
        grid = self._power(DeviceType.GRID)
        if grid is None:
            return None
        pv = abs(self._power(DeviceType.PV) or 0.0)
        battery = self._power(DeviceType.BATTERY) or 0.0
        ev = self._power(DeviceType.EV) or 0.0
        return max(grid + pv - battery - ev, 0.0), pv

    def battery_soc(self, battery_id: str) -> float | None:
        return self._live.snapshot.live.battery_soc.get(battery_id)
