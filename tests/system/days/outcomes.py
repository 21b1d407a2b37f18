"""What the two days came to, measured on the simulated devices and the plans the add-on made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from .devices import STEP
from .home import DISHWASHER_DEADLINE, TZ, WASHER_DEADLINE, Home

DEADLINES = {"Dishwasher": DISHWASHER_DEADLINE, "Washing machine": WASHER_DEADLINE}
APPLIANCE_IDS = {"Dishwasher": "dishwasher", "Washing machine": "washer"}


def next_local(after: datetime, at: time) -> datetime:
    local = after.astimezone(TZ)
    candidate = datetime.combine(local.date(), at, tzinfo=TZ)
    return candidate if candidate > local else candidate + timedelta(days=1)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class ApplianceRun:
    name: str
    loaded: datetime
    start: datetime
    end: datetime
    deadline: datetime
    planned_start: datetime | None  # in the plan whose start timer fired

    def line(self) -> str:
        def hm(moment: datetime | None) -> str:
            return moment.astimezone(TZ).strftime("%a %H:%M") if moment else "none"

        return (
            f"{self.name}: loaded {hm(self.loaded)}, planned {hm(self.planned_start)},"
            f" started {hm(self.start)}, finished {hm(self.end)}"
            f" (window {hm(self.loaded)}–{hm(self.deadline)})"
        )


def appliance_runs(home: Home, plans: list[dict[str, Any]], start: datetime) -> list[ApplianceRun]:
    runs = []
    for appliance in home.appliances:
        for loaded, began, ended in appliance.runs:
            tick = int((began - start) / STEP)
            before = plans[tick - 1] if tick > 0 else plans[0]  # the plan in force when the timer fired
            entry = next(
                (a for a in before.get("appliances", []) if a["id"] == APPLIANCE_IDS[appliance.name]), {}
            )
            runs.append(
                ApplianceRun(
                    appliance.name,
                    loaded,
                    began,
                    ended,
                    next_local(loaded, DEADLINES[appliance.name]),
                    _when(entry.get("planned_start")),
                )
            )
    return runs


def stored_value_eur(home: Home, start_soc: float, price_eur_per_kwh: float) -> float:
    """What the battery holds beyond its start charge is worth (it saves that much import later)."""
    battery = home.battery
    return (battery.soc - start_soc) * battery.capacity_kwh * battery.efficiency * price_eur_per_kwh


def planned_starts(plans: list[dict[str, Any]], asset: str, ev: bool = False) -> list[datetime | None]:
    """The planned start of ``asset`` in each consecutive plan (EV: its first step that charges)."""
    out: list[datetime | None] = []
    for plan in plans:
        if ev:
            step = next(
                (s for s in plan["steps"] if (s["assets"].get(asset) or {}).get("power_w", 0) > 0), None
            )
            out.append(_when(step["start"]) if step else None)
        else:
            entry = next((a for a in plan.get("appliances", []) if a["id"] == asset), {})
            out.append(_when(entry.get("planned_start")))
    return out


def flaps(
    plans: list[dict[str, Any]], asset: str, waits: list[tuple[datetime, datetime]], ev: bool = False
) -> int:
    """How often a still-future planned start moved to another time from one plan to the next, while
    the user waited for it (``waits``: from loading or plugging in to the start or departure)."""
    count = 0
    starts = planned_starts(plans, asset, ev)
    for i in range(1, len(plans)):
        made = datetime.fromisoformat(str(plans[i]["created_at"]))
        if not any(begin < made <= end for begin, end in waits):
            continue
        previous, current = starts[i - 1], starts[i]
        if previous is not None and current is not None and previous > made and current != previous:
            count += 1
    return count


def battery_step(plan: dict[str, Any], now: datetime, battery: str) -> dict[str, Any] | None:
    for step in plan["steps"]:
        if datetime.fromisoformat(step["start"]) <= now < datetime.fromisoformat(step["end"]):
            return step["assets"].get(battery)
    return None
