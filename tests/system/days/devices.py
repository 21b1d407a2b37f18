"""The home's devices as physics, without Home Assistant: what each does with what it is told.

Both runs use these: the SHEMS run reads the controls from Home Assistant entities (set by the
blueprints), the baseline run sets them the way a home without SHEMS works. Each step integrates
15 minutes at constant powers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

STEP = timedelta(minutes=15)
HOURS = STEP.total_seconds() / 3600

# Work modes of the battery inverter's select (a Solis/Growatt-like set).
SELF_USE, FORCE_CHARGE, FORCE_DISCHARGE, HOLD = "Self use", "Force charge", "Force discharge", "Hold"
INVERTER_MODES = [SELF_USE, FORCE_CHARGE, FORCE_DISCHARGE, HOLD]


@dataclass
class BatteryInverter:
    """A 10 kWh battery: its SOC integrates what the inverter is told (one-way efficiency)."""

    capacity_kwh: float = 10.0
    max_w: float = 5000.0
    efficiency: float = 0.95
    min_soc: float = 0.10
    max_soc: float = 1.00
    soc: float = 0.30
    mode: str = SELF_USE
    charge_w: float = 5000.0
    discharge_w: float = 5000.0
    charged_kwh: float = 0.0
    discharged_kwh: float = 0.0

    def power_w(self, net_load_w: float) -> float:
        """What the battery does this step (+ discharge, − charge), given the house's net load."""
        if self.mode == FORCE_CHARGE:
            wanted = -min(self.charge_w, self.max_w)
        elif self.mode == FORCE_DISCHARGE:
            wanted = min(self.discharge_w, self.max_w)
        elif self.mode == SELF_USE:  # cover the net load, store the surplus
            wanted = (
                min(net_load_w, self.discharge_w, self.max_w)
                if net_load_w > 0
                else -min(-net_load_w, self.max_w)
            )
        else:
            wanted = 0.0
        if wanted < 0:  # charging: room left in the cells, after losses
            room_w = (self.max_soc - self.soc) * self.capacity_kwh / self.efficiency / HOURS * 1000
            return -min(-wanted, max(room_w, 0.0))
        stored_w = (self.soc - self.min_soc) * self.capacity_kwh * self.efficiency / HOURS * 1000
        return min(wanted, max(stored_w, 0.0))

    def run(self, power_w: float) -> None:
        kwh = abs(power_w) * HOURS / 1000
        if power_w < 0:
            self.soc += kwh * self.efficiency / self.capacity_kwh
            self.charged_kwh += kwh
        else:
            self.soc -= kwh / self.efficiency / self.capacity_kwh
            self.discharged_kwh += kwh
        self.soc = min(max(self.soc, 0.0), 1.0)


@dataclass
class Wallbox:
    """A 3-phase wallbox and its car: charges current × phases × voltage while on and plugged."""

    car_kwh: float = 60.0
    phases: int = 3
    volts: float = 230.0
    min_a: float = 6.0
    max_a: float = 16.0
    soc: float = 0.5
    plugged: bool = False
    switch_on: bool = False
    current_a: float = 16.0
    delivered_kwh: float = 0.0
    limit_soc: float = 0.80  # the car's own charge limit, set in the car (the same in both runs)

    def power_w(self) -> float:
        if not (self.plugged and self.switch_on) or self.soc >= self.limit_soc or self.current_a < self.min_a:
            return 0.0
        power = min(self.current_a, self.max_a) * self.phases * self.volts
        room_w = (self.limit_soc - self.soc) * self.car_kwh / HOURS * 1000
        return min(power, room_w)

    def run(self, power_w: float) -> None:
        kwh = power_w * HOURS / 1000
        self.soc = min(self.soc + kwh / self.car_kwh, self.limit_soc)
        self.delivered_kwh += kwh


@dataclass
class Appliance:
    """A dishwasher or washing machine behind a smart plug: loaded and armed by the user, it runs its
    programme once when the plug switches on (an unloaded machine draws nothing)."""

    name: str
    rated_w: float
    duration: timedelta
    loaded_at: datetime | None = None
    started_at: datetime | None = None
    plug_on: bool = True
    runs: list[tuple[datetime, datetime, datetime]] = field(default_factory=list)  # loaded, start, end

    def load(self, now: datetime) -> None:
        """The user loads it, selects the programme and leaves it behind the switched-off plug."""
        self.loaded_at, self.plug_on = now, False

    def switch(self, on: bool, now: datetime) -> None:
        if on and not self.plug_on and self.loaded_at is not None and self.started_at is None:
            self.started_at = now
        self.plug_on = on

    def power_w(self, now: datetime) -> float:
        if self.started_at is None or not self.plug_on:
            return 0.0
        return self.rated_w if now < self.started_at + self.duration else 0.0

    def tick(self, now: datetime) -> None:
        """The programme ends: the run is recorded and the machine waits to be loaded again."""
        if (
            self.started_at is not None
            and self.loaded_at is not None
            and now >= self.started_at + self.duration
        ):
            self.runs.append((self.loaded_at, self.started_at, self.started_at + self.duration))
            self.loaded_at = self.started_at = None


@dataclass
class GridMeter:
    """The utility meter: import/export energy counters, and the bill at the prices of each step."""

    import_kwh: float = 0.0
    export_kwh: float = 0.0
    cost_eur: float = 0.0
    power_w: float = 0.0

    def run(self, power_w: float, import_price: float, export_price: float) -> None:
        self.power_w = power_w
        kwh = abs(power_w) * HOURS / 1000
        if power_w >= 0:
            self.import_kwh += kwh
            self.cost_eur += kwh * import_price
        else:
            self.export_kwh += kwh
            self.cost_eur -= kwh * export_price
