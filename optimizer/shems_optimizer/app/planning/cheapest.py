"""When electricity is cheapest: the add-on's one rule, carried in the plan for every moment it covers.

The rule: among the plan's steps that have not ended and start within the next 24 hours (or before
local midnight, for "today" in the site's zone), the first run of back-to-back steps at the lowest
import price. An hourly price in 15-minute steps is one window of an hour, not its first quarter; all
arithmetic is on aware instants, so a 23- or 25-hour DST day is measured as it is.

Why carry it: the integration's sensors and voice answers show the add-on's answer instead of working
out their own (two rules had given two answers). "Now" moves while a plan is in force, so the plan
document lists the answer from each step on (``cheapest_windows``: one entry each time it changes);
a reader takes the last entry that has begun, and a ``running`` window begins with the step in force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

AHEAD = timedelta(hours=24)


@dataclass(frozen=True)
class PriceStep:
    start: datetime
    end: datetime
    price: float


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    price: float

    def document(self, running: bool = False) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "price": self.price,
            "running": running,
        }


def local_midnight_after(moment: datetime, tz: ZoneInfo) -> datetime:
    """The start of the next local day (DST-correct: the day may be 23 or 25 hours long)."""
    day = moment.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=tz)


def cheapest_window(
    steps: Sequence[PriceStep], now: datetime, until: datetime | None = None, within: timedelta = AHEAD
) -> Window | None:
    """The first lowest-price run of steps not ended by ``now`` and starting before ``until`` (local
    midnight, for today: up to 25 hours on a DST day), else before ``now + within``; None when no
    step qualifies."""
    horizon = now + within if until is None else until
    upcoming = [s for s in steps if s.end > now and s.start < horizon]
    if not upcoming:
        return None
    lowest = min(s.price for s in upcoming)
    first = next(i for i, s in enumerate(upcoming) if s.price == lowest)
    end = upcoming[first].end
    for step in upcoming[first + 1 :]:
        if step.start != end or step.price != lowest:
            break
        end = step.end
    return Window(upcoming[first].start, end, lowest)


def cheapest_windows(steps: Sequence[PriceStep], tz: ZoneInfo) -> list[dict[str, Any]]:
    """From each step's start: the cheapest window of the next 24 hours and of the rest of today.

    A window that begins with the step in force is ``running``: it begins with whichever step is in
    force, so one entry covers all the steps it runs through (a time-of-use night is one entry, not
    one per quarter hour). Consecutive equal answers are given once (``from``: where one begins)."""

    def key(window: Window | None, at: datetime) -> tuple[Any, ...] | None:
        if window is None:
            return None
        running = window.start <= at
        return (None if running else window.start, window.end, window.price, running)

    out: list[dict[str, Any]] = []
    last: tuple[Any, ...] | None = None
    for step in steps:
        ahead = cheapest_window(steps, step.start)
        today = cheapest_window(steps, step.start, until=local_midnight_after(step.start, tz))
        current = (key(ahead, step.start), key(today, step.start))
        if out and current == last:
            continue
        last = current
        out.append(
            {
                "from": step.start.isoformat(),
                "next_24h": ahead.document(ahead.start <= step.start) if ahead is not None else None,
                "today": today.document(today.start <= step.start) if today is not None else None,
            }
        )
    return out


def window_at(plan: Mapping[str, Any], now: datetime, scope: str = "next_24h") -> dict[str, Any] | None:
    """The plan document's answer in force at ``now`` (``scope``: next_24h or today), a running one
    beginning with the step in force; None outside the plan."""
    steps = plan.get("steps") or []
    current = next(
        (s for s in steps if datetime.fromisoformat(s["start"]) <= now < datetime.fromisoformat(s["end"])),
        None,
    )
    if current is None:
        return None
    answer: Mapping[str, Any] | None = None
    for entry in plan.get("cheapest_windows") or []:
        if datetime.fromisoformat(entry["from"]) > now:
            break
        answer = entry.get(scope)
    if answer is None:
        return None
    return {**answer, "start": current["start"]} if answer.get("running") else dict(answer)
