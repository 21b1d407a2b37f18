"""Figures derived from a plan: what happens now, energy within a day, the add-on's cheapest window.

Everything works on the plan's own timestamps (timezone-aware), so DST days and any step length work
without assuming 24 hourly steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.util import dt as dt_util

from .models import Plan, PlanStep, Window

MAX_CURVE_POINTS = 7 * 24 * 4


def local_day_bounds(day: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the local calendar day containing ``day`` (23 or 25 h long on DST days).

    UTC matters: Python subtracts two datetimes of the same zone by wall clock, which hides DST.
    """
    start = dt_util.start_of_local_day(dt_util.as_local(day))
    end = dt_util.start_of_local_day(start + timedelta(hours=36))
    return dt_util.as_utc(start), dt_util.as_utc(end)


def energy_kwh(
    plan: Plan, value: Callable[[PlanStep], float | None], start: datetime, end: datetime
) -> float | None:
    """kWh of a power series (W) between ``start`` and ``end``; None when the plan has no such data."""
    total = 0.0
    seen = False
    for step in plan.steps:
        power = value(step)
        if power is None:
            continue
        overlap_start = dt_util.as_utc(max(step.start, start))
        overlap_end = dt_util.as_utc(min(step.end, end))
        if overlap_end <= overlap_start:
            continue
        seen = True
        total += power * (overlap_end - overlap_start).total_seconds() / 3600.0 / 1000.0
    return round(total, 3) if seen else None


def cheapest_window(plan: Plan, now: datetime, *, today: bool = False) -> Window | None:
    """The add-on's answer in force at ``now``: the cheapest window of the next 24 hours, or of the
    rest of today (``today``). The add-on works it out for every moment its plan covers (a running
    window begins with the step in force); None outside the plan or when the add-on gave none."""
    step = plan.step_at(now)
    if step is None:
        return None
    answer = None
    for entry in plan.cheapest:
        if entry.begins > now:
            break
        answer = entry.today if today else entry.next_24h
    if answer is not None and answer.running:
        return Window(start=step.start, end=answer.end, price=answer.price, running=True)
    return answer


def last_soc_before(plan: Plan, asset_id: str, moment: datetime) -> float | None:
    """Planned state of charge at the last step ending no later than ``moment``."""
    soc: float | None = None
    for step in plan.steps:
        if step.end > moment:
            break
        asset = step.assets.get(asset_id)
        if asset is not None and asset.soc_pct is not None:
            soc = asset.soc_pct
    return soc


def curve(plan: Plan, value: Callable[[PlanStep], float | None]) -> list[dict[str, object]]:
    """``[{"start": iso, "value": x}, ...]`` for attributes (kept out of the recorder)."""
    return [{"start": step.start.isoformat(), "value": value(step)} for step in plan.steps[:MAX_CURVE_POINTS]]
