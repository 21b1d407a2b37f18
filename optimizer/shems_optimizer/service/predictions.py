"""Predictions (load, PV, price, cost) and recommendations, from the plan in force and the tariff.

Within the plan's horizon (48 h) load, PV and cost come from the plan's own forecasts and setpoints;
fixed and time-of-use prices are exact for any horizon. Where neither covers a bucket its value is
``null`` and ``source`` says why, so a chart shows a gap rather than an invented number.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shems_optimizer.api.ports import PlanPort, SitePort

UNITS = {"load": ("W", "kWh"), "pv": ("W", "kWh"), "price": ("EUR/kWh", "EUR/kWh"), "cost": ("EUR", "EUR")}


def _tariff_price(site: Mapping[str, Any], moment: datetime, tz: ZoneInfo) -> float | None:
    price = site.get("price", {})
    if price.get("kind") == "fixed":
        return float(price["import_per_kwh"])
    if price.get("kind") == "tou":
        wall = moment.astimezone(tz).time()
        periods = sorted(price["periods"], key=lambda p: p["start"])
        current = periods[-1]
        for period in periods:
            if time.fromisoformat(period["start"]) <= wall:
                current = period
        return float(current["import_per_kwh"])
    return None


class Forecasts:
    """Implements the API's prediction port."""

    def __init__(self, site: SitePort, plans: PlanPort) -> None:
        self._site = site
        self._plans = plans

    def _buckets(
        self, start: datetime, steps: int, granularity: str, tz: ZoneInfo
    ) -> list[tuple[datetime, datetime]]:
        if granularity == "hour":
            first = start.replace(minute=0, second=0, microsecond=0)
            return [(first + timedelta(hours=i), first + timedelta(hours=i + 1)) for i in range(steps)]
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
        plan = self._plans.current_plan() or {}
        plan_steps = [
            (datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]), s)
            for s in plan.get("steps", [])
        ]
        points = []
        sources: set[str] = set()
        for lo, hi in self._buckets(start, steps, granularity, tz):
            inside = [(a, b, s) for a, b, s in plan_steps if a >= lo and b <= hi]
            span_s = sum((b - a).total_seconds() for a, b, _ in inside)
            # An hour the plan covers in part (it starts at the current quarter hour) is reported from
            # the covered part; a day only when covered entirely.
            needed_s = 0.0 if granularity == "hour" else (hi - lo).total_seconds() - 1
            covered = bool(inside) and span_s >= needed_s
            value: float | None = None
            if kind == "price":
                prices = [
                    p
                    for p in (
                        _tariff_price(site, lo + timedelta(minutes=15 * k), tz)
                        for k in range(int((hi - lo).total_seconds() // 900))
                    )
                    if p is not None
                ]
                if prices:
                    value = sum(prices) / len(prices)
                    sources.add("tariff")
                elif covered:
                    value = sum(s["import_price"] * (b - a).total_seconds() for a, b, s in inside) / span_s
                    sources.add("plan")
            elif covered:
                sources.add("plan")
                if kind in ("load", "pv"):
                    key = "load_w" if kind == "load" else "pv_w"
                    energy_wh = sum(s[key] * (b - a).total_seconds() / 3600 for a, b, s in inside)

                    value = energy_wh / (span_s / 3600) if granularity == "hour" else energy_wh / 1000
                else:  # cost
                    value = sum(
                        (s["grid_import_w"] * s["import_price"] - s["grid_export_w"] * s["export_price"])
                        * (b - a).total_seconds()
                        / 3600
                        / 1000
                        for a, b, s in inside
                    )
            points.append(
                {
                    "start": lo.isoformat(),
                    "end": hi.isoformat(),
                    "value": None if value is None else round(value, 4),
                }
            )
        unit = UNITS[kind][0 if granularity == "hour" else 1]
        if not sources:
            source = "none: no plan covers this period and the price source has no tariff"
        else:
            source = "+".join(sorted(sources))
        if any(p["value"] is None for p in points) and sources:
            source += "; beyond the plan's 48 h horizon values are null"
        return {
            "kind": kind,
            "granularity": granularity,
            "unit": unit,
            "source": source,
            "currency": site.get("currency", "EUR"),
            "points": points,
        }

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
        steps = plan.get("steps", [])[:96]  # the next 24 h
        if len(steps) >= 8:
            best = min(range(len(steps) - 7), key=lambda i: sum(s["import_price"] for s in steps[i : i + 8]))
            lo = datetime.fromisoformat(steps[best]["start"]).astimezone(tz)
            hi = datetime.fromisoformat(steps[best + 7]["end"]).astimezone(tz)
            mean = sum(s["import_price"] for s in steps[best : best + 8]) / 8
            currency = plan.get("currency", "EUR")
            out.append(
                {
                    "id": "cheapest-window",
                    "title": f"Cheapest 2 hours: {lo:%H:%M}–{hi:%H:%M}",
                    "detail": f"average {mean:.3f} {currency}/kWh: run flexible loads then",
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
