"""One forecast timeline from the 48 h plan and the 7-day outlook, for predictions and costs ahead.

The plan (15 min) is the better forecast where it exists: it is the one being executed. The outlook
(hourly) fills the time after the plan's horizon; its hour that straddles the plan's end is cut at that
end, which keeps its mean powers and prices (and so its cost per hour) unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SEVEN_DAYS = timedelta(days=7)


@dataclass(frozen=True)
class Segment:
    """A span with constant mean powers (W) and prices; ``source`` is ``plan`` or ``outlook``."""

    start: datetime
    end: datetime
    load_w: float
    pv_w: float
    grid_import_w: float
    grid_export_w: float
    import_price: float
    export_price: float
    source: str
    price_source: str

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def overlap_hours(self, lo: datetime, hi: datetime) -> float:
        # In UTC: two datetimes sharing a ZoneInfo subtract in wall-clock time (24 h for a DST day).
        end = min(self.end, hi).astimezone(UTC)
        start = max(self.start, lo).astimezone(UTC)
        return max((end - start).total_seconds(), 0.0) / 3600

    @property
    def cost_per_hour(self) -> float:
        """Net energy cost (currency per hour) of the planned grid exchange."""
        return (self.grid_import_w * self.import_price - self.grid_export_w * self.export_price) / 1000


def _segment(step: Mapping[str, Any], start: datetime, source: str) -> Segment:
    return Segment(
        start=start,
        end=datetime.fromisoformat(step["end"]),
        load_w=float(step["load_w"]),
        pv_w=float(step["pv_w"]),
        grid_import_w=float(step["grid_import_w"]),
        grid_export_w=float(step["grid_export_w"]),
        import_price=float(step["import_price"]),
        export_price=float(step["export_price"]),
        source=source,
        price_source=str(step.get("price_source", "plan")),
    )


def timeline(plan: Mapping[str, Any] | None, outlook: Mapping[str, Any] | None) -> list[Segment]:
    """Plan steps, then outlook steps after the plan's end, in time order without overlap."""
    out = [
        _segment(step, datetime.fromisoformat(step["start"]), "plan")
        for step in (plan or {}).get("steps", [])
    ]
    plan_end = out[-1].end if out else None
    for step in (outlook or {}).get("steps", []):
        start = datetime.fromisoformat(step["start"])
        end = datetime.fromisoformat(step["end"])
        if plan_end is not None and end <= plan_end:
            continue
        if plan_end is not None and out and start < plan_end:
            start = plan_end
        out.append(_segment(step, start, "outlook"))
    return out


def cost_between(segments: Sequence[Segment], lo: datetime, hi: datetime) -> tuple[float, float]:
    """(cost, hours covered) of [lo, hi)."""
    cost = covered = 0.0
    for seg in segments:
        hours = seg.overlap_hours(lo, hi)
        if hours > 0:
            cost += seg.cost_per_hour * hours
            covered += hours
    return cost, covered


def cost_next_7d(plan: Mapping[str, Any], outlook: Mapping[str, Any] | None) -> float | None:
    """Cost of the 7 days from the plan's start: the plan's 48 h, then the outlook. None when the
    two together do not cover the 7 days (no outlook yet)."""
    segments = timeline(plan, outlook)
    if not segments:
        return None
    start = segments[0].start
    cost, covered = cost_between(segments, start, start + SEVEN_DAYS)
    if covered < SEVEN_DAYS.total_seconds() / 3600 - 1e-6:
        return None
    return round(cost, 4)
