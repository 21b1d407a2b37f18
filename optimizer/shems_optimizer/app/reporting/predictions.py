"""Predictions (load, PV, price, cost) and recommendations, from the plan, the outlook and the tariff.

Each point says where its value comes from (``source``):

* ``tariff`` — fixed and time-of-use prices, exact for any horizon;
* ``plan`` — the 48 h plan in force (15 min), the forecast being executed;
* ``outlook`` — the 7-day hourly outlook optimised after each plan (see :mod:`.outlook`), after the
  plan's horizon; ``plan+outlook`` for a bucket holding both;
* ``calendar`` — days beyond the outlook (daily predictions up to 30 days): the mean of the same
  weekday among the whole days the plan and outlook cover (of all of them when that weekday is not
  among them);
* ``none`` — nothing covers the bucket: the value is ``null`` rather than an invented number.

An hour counts as covered when any part of it is (the plan starts at the current quarter hour); a day
when all of it from the start of the timeline is, so the first day is the rest of today. The response's
``source`` sums the points' sources up in words.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shems_optimizer.app.planning.cheapest import window_at
from shems_optimizer.app.planning.forecast_series import Segment, timeline
from shems_optimizer.app.ports import PlanPort, SitePort
from shems_optimizer.app.site.engine_site import tariff_prices

UNITS = {"load": ("W", "kWh"), "pv": ("W", "kWh"), "price": ("EUR/kWh", "EUR/kWh"), "cost": ("EUR", "EUR")}


def _value(kind: str, parts: list[tuple[Segment, float]], granularity: str) -> float:
    """The bucket's value from (segment, hours of overlap) pairs."""
    hours = sum(h for _, h in parts)
    if kind == "price":
        return sum(s.import_price * h for s, h in parts) / hours
    if kind == "cost":
        return sum(s.cost_per_hour * h for s, h in parts)
    watt_hours = sum((s.load_w if kind == "load" else s.pv_w) * h for s, h in parts)
    return watt_hours / hours if granularity == "hour" else watt_hours / 1000


def _describe(
    points: list[dict[str, Any]], segments: list[Segment], outlook: Mapping[str, Any] | None
) -> str:
    """The response's ``source`` in words: what each point source stands for here."""
    used = {p["source"] for p in points}
    parts = []
    if "tariff" in used:
        parts.append("tariff")
    if used & {"plan", "plan+outlook"}:
        plan_end = max((s.end for s in segments if s.source == "plan"), default=None)
        parts.append(f"plan (15 min, to {plan_end.isoformat() if plan_end else '?'})")
    if used & {"outlook", "plan+outlook"} and outlook is not None:
        prices = sorted({s.price_source for s in segments if s.source == "outlook"})
        parts.append(
            f"outlook (hourly, computed {outlook.get('created_at')}, to {outlook.get('horizon_end')}; "
            f"load: {outlook.get('load_source')}; PV: {outlook.get('pv_source')}; "
            f"prices: {', '.join(prices)})"
        )
    if "calendar" in used:
        parts.append(
            "calendar (days beyond the outlook: mean of the same weekday among the covered whole days)"
        )
    if not parts:
        return "none: no plan or outlook covers this period and the price source has no tariff"
    text = " + ".join(parts)
    if "none" in used:
        text += "; null where nothing covers a bucket"
    return text


class Forecasts:
    """Implements the API's prediction port."""

    def __init__(
        self,
        site: SitePort,
        plans: PlanPort,
        outlook: Callable[[], Mapping[str, Any] | None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._site = site
        self._plans = plans
        self._outlook = outlook or (lambda: None)
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(tz=UTC))

    def _buckets(
        self, start: datetime, steps: int, granularity: str, tz: ZoneInfo
    ) -> list[tuple[datetime, datetime]]:
        if granularity == "hour":
            first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            return [
                (
                    (first + timedelta(hours=i)).astimezone(start.tzinfo),
                    (first + timedelta(hours=i + 1)).astimezone(start.tzinfo),
                )
                for i in range(steps)
            ]
        day = start.astimezone(tz).date()
        out = []
        for i in range(steps):
            lo = datetime.combine(day + timedelta(days=i), time(0), tzinfo=tz)
            hi = datetime.combine(day + timedelta(days=i + 1), time(0), tzinfo=tz)
            out.append((lo, hi))
        return out

    async def predictions(self, kind: str, start: datetime, steps: int, granularity: str) -> dict[str, Any]:
        site = self._site.get() or {}
        tz = ZoneInfo(str(site.get("timezone", "UTC")))
        plan = self._plans.current_plan()
        outlook = self._outlook()
        segments = timeline(plan, outlook)
        first = segments[0].start if segments else None
        points: list[dict[str, Any]] = []
        for lo, hi in self._buckets(start, steps, granularity, tz):
            parts = [(s, s.overlap_hours(lo, hi)) for s in segments]
            parts = [(s, h) for s, h in parts if h > 0]
            covered_h = sum(h for _, h in parts)
            if granularity == "hour":
                covered = covered_h > 0
            else:
                needed = (
                    (hi.astimezone(UTC) - max(lo, first).astimezone(UTC)).total_seconds() / 3600
                    if first is not None
                    else 1.0
                )
                covered = bool(parts) and covered_h >= needed - 1e-6  # a day before the plan: none
            value: float | None = None
            source = "none"
            if kind == "price":
                quarters = [
                    lo + timedelta(minutes=15 * k) for k in range(int((hi - lo).total_seconds() // 900))
                ]
                prices = tariff_prices(site, quarters)
                if prices:
                    value, source = sum(p[0] for p in prices) / len(prices), "tariff"
            if source == "none" and covered:
                value = _value(kind, parts, granularity)
                source = "+".join(sorted({s.source for s, _ in parts}, key=("plan", "outlook").index))
            points.append(
                {
                    "start": lo.isoformat(),
                    "end": hi.isoformat(),
                    "value": value,
                    "source": source,
                    "_whole": first is not None and lo >= first and covered,
                }
            )
        if granularity == "day":
            self._calendar(kind, points, tz)
        for point in points:
            del point["_whole"]
            if point["value"] is not None:
                point["value"] = round(point["value"], 4)
        unit = UNITS[kind][0 if granularity == "hour" else 1]
        return {
            "kind": kind,
            "granularity": granularity,
            "unit": unit,
            "source": _describe(points, segments, outlook),
            "currency": site.get("currency", "EUR"),
            "points": points,
        }

    @staticmethod
    def _calendar(kind: str, points: list[dict[str, Any]], tz: ZoneInfo) -> None:
        """Fill days nothing covers from the whole days that are covered, by weekday.

        Energy and cost are averaged per hour and scaled to the day's length, so a 23- or 25-hour DST
        day neither lends its length to nor takes it from an ordinary day."""

        def hours(point: dict[str, Any]) -> float:
            span = datetime.fromisoformat(point["end"]) - datetime.fromisoformat(point["start"])
            return span.total_seconds() / 3600

        per_hour = kind != "price"
        by_weekday: dict[int, list[float]] = defaultdict(list)
        for point in points:
            if point["_whole"] and point["value"] is not None:
                weekday = datetime.fromisoformat(point["start"]).astimezone(tz).weekday()
                by_weekday[weekday].append(point["value"] / hours(point) if per_hour else point["value"])
        every = [v for values in by_weekday.values() for v in values]
        if not every:
            return
        last_covered = max(
            (datetime.fromisoformat(p["start"]) for p in points if p["source"] != "none"), default=None
        )
        for point in points:
            day = datetime.fromisoformat(point["start"])
            if point["source"] != "none" or (last_covered is not None and day < last_covered):
                continue
            pool = by_weekday.get(day.astimezone(tz).weekday()) or every
            mean = sum(pool) / len(pool)
            point["value"] = mean * hours(point) if per_hour else mean
            point["source"] = "calendar"

    async def recommendations(self) -> dict[str, Any]:
        plan = self._plans.current_plan()
        site = self._site.get() or {}
        if plan is None:
            return {"plan_id": None, "recommendations": []}
        tz = ZoneInfo(str(site.get("timezone", "UTC")))
        names = {
            a["id"]: a["name"]
            for kind in ("appliances", "batteries", "evs", "thermal_loads")
            for a in site.get(kind, [])
        }
        out: list[dict[str, Any]] = []
        for entry in plan.get("appliances", []):
            if entry.get("planned_start"):
                start = datetime.fromisoformat(entry["planned_start"]).astimezone(tz)
                name = names.get(entry["id"], entry["id"])
                out.append(
                    {
                        "id": f"run-{entry['id']}",
                        "title": f"Start the {name} at {start:%H:%M}",
                        "detail": f"planned {start:%a %H:%M}, when energy is cheapest within its window",
                        "start": entry["planned_start"],
                        "end": entry.get("planned_end"),
                        "saving": None,
                    }
                )
        window = window_at(plan, self._clock())
        if window is not None:
            lo = datetime.fromisoformat(window["start"]).astimezone(tz)
            hi = datetime.fromisoformat(window["end"]).astimezone(tz)
            currency = plan.get("currency", "EUR")
            out.append(
                {
                    "id": "cheapest-window",
                    "title": f"Cheapest from {lo:%H:%M} to {hi:%H:%M}",
                    "detail": f"{window['price']:.3f} {currency}/kWh: run flexible loads then",
                    "start": lo.isoformat(),
                    "end": hi.isoformat(),
                    "saving": None,
                }
            )
        for goal in plan.get("unmet_goals", []):
            out.append(
                {
                    "id": f"unmet-{goal['asset_id']}-{goal['goal']}",
                    "title": "A goal cannot be met",
                    "detail": goal["message"],
                    "start": None,
                    "end": None,
                    "saving": None,
                }
            )
        if plan.get("savings") is not None:
            out.append(
                {
                    "id": "savings",
                    "title": f"This plan saves {plan['savings']:.2f} {plan.get('currency', 'EUR')}",
                    "detail": "compared with running everything as soon as possible over the same 48 h",
                    "start": None,
                    "end": None,
                    "saving": plan["savings"],
                }
            )
        return {"plan_id": plan.get("id"), "recommendations": out}
