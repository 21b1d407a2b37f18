"""The whole home over time: its devices, the family's routine, the weather and the prices.

``Home.step`` integrates one 15-min step with the controls as they are; who sets the controls (SHEMS
through Home Assistant, or nobody: the baseline) is the caller's business. The routine is the same in
both runs, so the two bills compare the same life in the same house.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .data import FEED_IN_EUR_PER_KWH, Weather
from .devices import STEP, Appliance, BatteryInverter, GridMeter, Wallbox

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2024, 5, 21, 12, 0, tzinfo=TZ)  # a Tuesday noon
DAYS = 2
END = START + timedelta(days=DAYS)
DEPARTURE = time(7, 30)
TARGET_SOC = 0.80
DISHWASHER_DEADLINE = time(7, 0)
WASHER_DEADLINE = time(17, 0)


@dataclass(frozen=True)
class Event:
    """Something the family does at a local time: plug the car in, drive off, load a machine."""

    at: datetime
    what: str
    soc: float | None = None


def routine() -> list[Event]:
    """Day 1: the car comes home at 18:00 and is plugged in at once (a feasible night).
    Day 2: it is plugged in only at 06:45, 45 minutes before departure (80 % is out of reach).
    The dishwasher is loaded every evening at 19:30, the washing machine every morning at 08:00."""
    day1, day2, day3 = START.date(), START.date() + timedelta(days=1), START.date() + timedelta(days=2)

    def at(day: object, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(day, time(hh, mm), tzinfo=TZ)  # type: ignore[arg-type]

    return sorted(
        [
            Event(at(day1, 18), "car arrives and is plugged in", soc=0.35),
            Event(at(day2, 7, 30), "car leaves"),
            Event(at(day2, 18), "car arrives, left unplugged", soc=0.40),
            Event(at(day3, 6, 45), "car plugged in late"),
            Event(at(day3, 7, 30), "car leaves"),
            Event(at(day1, 19, 30), "dishwasher loaded"),
            Event(at(day2, 19, 30), "dishwasher loaded"),
            Event(at(day2, 8), "washing machine loaded"),
            Event(at(day3, 8), "washing machine loaded"),
        ],
        key=lambda e: e.at,
    )


@dataclass
class Home:
    weather: Weather
    prices: dict[datetime, float]
    battery: BatteryInverter = field(default_factory=BatteryInverter)
    wallbox: Wallbox = field(default_factory=Wallbox)
    dishwasher: Appliance = field(
        default_factory=lambda: Appliance("Dishwasher", 2000.0, timedelta(minutes=120))
    )
    washer: Appliance = field(
        default_factory=lambda: Appliance("Washing machine", 2200.0, timedelta(minutes=90))
    )
    meter: GridMeter = field(default_factory=GridMeter)
    pv_kwh: float = 0.0
    pv_w: float = 0.0
    load_w: float = 0.0
    departures: list[tuple[datetime, float, float]] = field(default_factory=list)  # at, SOC, kWh in
    plugged_at_kwh: float = 0.0
    log: list[dict[str, float | str]] = field(default_factory=list)

    @property
    def appliances(self) -> tuple[Appliance, Appliance]:
        return (self.dishwasher, self.washer)

    def price(self, moment: datetime) -> float:
        return self.prices[moment.astimezone(TZ).replace(minute=0).astimezone(ZoneInfo("UTC"))]

    def happen(self, event: Event, now: datetime) -> None:
        """Apply one routine event to the devices."""
        if event.what.startswith("car arrives"):
            assert event.soc is not None
            self.wallbox.soc = event.soc
            self.wallbox.plugged = event.what.endswith("plugged in")
        elif event.what == "car plugged in late":
            self.wallbox.plugged = True
        elif event.what == "car leaves":
            self.departures.append((now, self.wallbox.soc, self.wallbox.delivered_kwh - self.plugged_at_kwh))
            self.wallbox.plugged = False
        if event.what.startswith("car") and self.wallbox.plugged:
            self.plugged_at_kwh = self.wallbox.delivered_kwh
        elif event.what == "dishwasher loaded":
            self.dishwasher.load(now)
        elif event.what == "washing machine loaded":
            self.washer.load(now)

    def step(self, now: datetime) -> None:
        """Run the 15 minutes from ``now`` with the controls as they are."""
        load_w, pv_w = self.weather.at(now.astimezone(ZoneInfo("UTC")))
        appliances_w = sum(a.power_w(now) for a in self.appliances)
        ev_w = self.wallbox.power_w()
        net_w = load_w + appliances_w + ev_w - pv_w
        battery_w = self.battery.power_w(net_w)
        self.battery.run(battery_w)
        self.wallbox.run(ev_w)
        grid_w = net_w - battery_w
        self.meter.run(grid_w, self.price(now), FEED_IN_EUR_PER_KWH)
        self.pv_kwh += pv_w * STEP.total_seconds() / 3600 / 1000
        self.pv_w, self.load_w = pv_w, load_w + appliances_w + ev_w
        self.log.append(
            {
                "at": now.isoformat(),
                "surplus_w": round(max(-net_w, 0.0)),
                "grid_w": round(grid_w),
                "battery_w": round(battery_w),
                "soc": round(self.battery.soc, 3),
                "mode": self.battery.mode,
                "ev_w": round(ev_w),
                "ev_soc": round(self.wallbox.soc, 3),
                "appliances_w": round(appliances_w),
            }
        )
        for appliance in self.appliances:
            appliance.tick(now + STEP)


def run_baseline(home: Home) -> Home:
    """The same home without SHEMS: the battery in plain self-use, the car charging at full current
    as soon as it is plugged in, each machine started by hand when it is loaded."""
    events = routine()
    now = START
    home.battery.mode = "Self use"
    home.wallbox.switch_on, home.wallbox.current_a = True, home.wallbox.max_a
    while now < END:
        for event in [e for e in events if e.at == now]:
            home.happen(event, now)
            for appliance in home.appliances:
                if appliance.loaded_at == now:
                    appliance.switch(True, now)
        home.step(now)
        now += STEP
    return home
