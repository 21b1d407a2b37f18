"""What today and this month cost, and what optimisation saved: the figures of the status.

Definitions (addon/DOCS.md says the same):

* **cost** (today / this month) = the measured grid exchange since local midnight / since local
  midnight on the 1st, up to the last whole quarter hour, priced at the prices in force at the time:
  what has been spent so far (Home Assistant keeps these as totals that reset at midnight / on the
  1st). Measured energy comes from the grid meter (import − export, per 15 minutes); a home without a
  grid meter has its metered consumption priced as if all of it were imported. Quarter hours with no
  measurement at all (the meter or the service was away) count the cost the plan in force had planned
  for them, and the breakdown says for how many hours. The breakdown also gives the expected totals:
  so far plus the current plan for the rest of today (``today_expected_cost``,
  ``month_expected_cost``).
* **prices in force**: a fixed or time-of-use tariff is exact; market prices (a price entity) are
  those of the archived plan that was in force at the start of the day (made after the day-ahead
  publication, it holds the day's published prices); quarter hours it does not cover (the service
  was away) take the plan in force at their time.
* **savings** = for each elapsed quarter hour, the baseline's cost minus the optimised plan's cost as
  planned by the plan in force (the baseline is the same home without optimisation: appliances at
  their earliest start, the battery in plain self-consumption, the EV at full power on arrival). A
  counterfactual cannot be metered, so this is the planner's estimate, for time that has passed.

Time that nothing is known about (no measurement and no plan in force, e.g. on the first day before
SHEMS's first plan) counts nothing, and the breakdown's ``note`` says so. Once a plan is in force the
figures always have a value (0 when nothing known has elapsed yet); they are ``null`` only while there
is no plan and time has passed that nothing is known about.

Closed days are computed once and kept; today is recomputed after every plan. Everything is rebuilt
from the store on start-up, so a restart keeps the figures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shems_optimizer.app.records.models import Granularity, StoreError
from shems_optimizer.app.records.repository import ConsumptionQuery, Repository
from shems_optimizer.app.reporting.consumption import EnergyFlows, flows_from_buckets
from shems_optimizer.app.site.engine_site import tariff_prices
from shems_optimizer.core.timegrid import floor_quarter
from shems_optimizer.runtime.blocking import BlockingRunner

_LOGGER = logging.getLogger(__name__)
QUARTER = timedelta(minutes=15)
CLOSED_MARGIN = timedelta(hours=1)  # readings may arrive late: a day is final an hour after it ended


@dataclass(frozen=True)
class DayFigures:
    """One local day (or its elapsed part): measured and estimated cost, savings, what was missing."""

    day: date
    measured_cost: float
    measured_hours: float
    import_kwh: float
    export_kwh: float
    estimated_cost: float  # planned cost of quarter hours without any measurement
    estimated_hours: float
    unknown_hours: float  # neither measured (and priced) nor planned
    savings: float
    savings_hours: float
    grid_meter: bool

    @property
    def cost(self) -> float:
        return self.measured_cost + self.estimated_cost


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


class PlansInForce:
    """Steps of the archived plans in force, looked up by quarter-hour start (UTC)."""

    def __init__(self, repo: Repository, home_id: str) -> None:
        self._repo = repo
        self._home_id = home_id
        self._steps: dict[datetime, Mapping[str, Any]] = {}
        self._seen: set[str] = set()

    def add(self, plan: Mapping[str, Any] | None) -> bool:
        """Add a plan's steps where no earlier-found plan has one; False if it was already added."""
        if plan is None or str(plan.get("id")) in self._seen:
            return False
        self._seen.add(str(plan.get("id")))
        for step in plan.get("steps", []):
            start = datetime.fromisoformat(step["start"]).astimezone(UTC)
            self._steps.setdefault(start, step)  # the plan looked up first (in force earlier) wins
        return True

    def load_in_force(self, at: datetime) -> bool:
        """Add the plan in force just before ``at`` (the newest made before it); False if none is new."""
        found = self._repo.list_plans(self._home_id, before=at, limit=1)
        return bool(found) and self.add(found[0].document)

    def cover(self, lo: datetime, hi: datetime) -> None:
        """Find the plans in force over [lo, hi): the one in force in the first quarter hour (made
        before the day began, it normally covers the whole day), then, for quarter hours still
        without a step, the one in force then. Where that finds nothing new, look again an hour
        later, so a long outage costs one query an hour, not one per quarter hour."""
        moment = lo
        next_lookup = lo
        while moment < hi:
            if self.step(moment) is None and moment >= next_lookup:
                found = self.load_in_force(moment + QUARTER)
                next_lookup = moment + (QUARTER if found else timedelta(hours=1))
            moment += QUARTER

    def step(self, start: datetime) -> Mapping[str, Any] | None:
        return self._steps.get(start.astimezone(UTC))


def day_figures(
    repo: Repository,
    home_id: str,
    site: Mapping[str, Any],
    day: date,
    until: datetime,
    current_plan: Mapping[str, Any] | None,
) -> DayFigures:
    """Figures of the local ``day`` from its start to ``until`` (its end, or now for today)."""
    tz = ZoneInfo(str(site.get("timezone", "UTC")))
    lo = local_midnight(day, tz)
    hi = min(local_midnight(day + timedelta(days=1), tz), floor_quarter(until))
    plans = PlansInForce(repo, home_id)
    plans.cover(lo.astimezone(UTC), hi)
    plans.add(current_plan)
    measured: dict[datetime, tuple[float, float]] = {}
    grid_meter = False
    if hi > lo:
        try:
            flows = _quarter_flows(repo, home_id, lo, hi)
        except StoreError as err:
            _LOGGER.debug("no measurements for %s: %s", day, err)
            flows = []
        for flow in flows:
            grid_meter = grid_meter or flow.grid_import_kwh is not None
            imported = flow.grid_import_kwh if flow.grid_import_kwh is not None else flow.consumption_kwh
            measured[flow.start.astimezone(UTC)] = (imported, flow.grid_export_kwh or 0.0)
    figures = dict.fromkeys(
        ("measured_cost", "measured_hours", "import_kwh", "export_kwh", "estimated_cost", "estimated_hours"),
        0.0,
    )
    unknown = savings = savings_hours = 0.0
    quarter_h = QUARTER.total_seconds() / 3600
    moment = lo.astimezone(UTC)
    quarters = [moment + QUARTER * k for k in range(max(0, int((hi - moment) / QUARTER)))]
    in_force = dict(zip(quarters, tariff_prices(site, quarters) or [], strict=False))
    while moment < hi:
        step = plans.step(moment)
        energy = measured.get(moment)
        prices = in_force.get(moment)
        if prices is None and step is not None:
            prices = (float(step["import_price"]), float(step["export_price"]))
        if energy is not None and prices is not None:
            figures["measured_cost"] += energy[0] * prices[0] - energy[1] * prices[1]
            figures["measured_hours"] += quarter_h
            figures["import_kwh"] += energy[0]
            figures["export_kwh"] += energy[1]
        elif energy is None and step is not None and step.get("cost") is not None:
            figures["estimated_cost"] += float(step["cost"]) * _share(step, moment)
            figures["estimated_hours"] += quarter_h
        else:
            unknown += quarter_h
        if step is not None and step.get("baseline_cost") is not None and step.get("cost") is not None:
            savings += (float(step["baseline_cost"]) - float(step["cost"])) * _share(step, moment)
            savings_hours += quarter_h
        moment += QUARTER
    return DayFigures(
        day=day,
        measured_cost=figures["measured_cost"],
        measured_hours=figures["measured_hours"],
        import_kwh=figures["import_kwh"],
        export_kwh=figures["export_kwh"],
        estimated_cost=figures["estimated_cost"],
        estimated_hours=figures["estimated_hours"],
        unknown_hours=unknown,
        savings=savings,
        savings_hours=savings_hours,
        grid_meter=grid_meter,
    )


def _quarter_flows(repo: Repository, home_id: str, lo: datetime, hi: datetime) -> list[EnergyFlows]:
    """The home's energy flows per real quarter hour. Asked in UTC: 15-minute buckets align the same
    in every zone of whole-quarter offsets, and UTC keeps the two 02:00-03:00 hours of an autumn DST
    day apart (local buckets would merge them)."""
    devices = repo.list_devices(home_id)
    if not devices:
        raise StoreError(f"home {home_id!r} has no devices")
    query = ConsumptionQuery(lo, hi, Granularity.MIN15, tuple(d.id for d in devices), timezone="UTC")
    return flows_from_buckets(repo.consumption(query), {d.id: d.type for d in devices})


def _share(step: Mapping[str, Any], moment: datetime) -> float:
    """The part of a plan step one quarter hour is (steps are 15 minutes; kept general)."""
    length = datetime.fromisoformat(step["end"]) - datetime.fromisoformat(step["start"])
    return min(QUARTER / length, 1.0) if length > timedelta(0) else 0.0


def rest_of_today(
    plan: Mapping[str, Any] | None, now: datetime, tz: ZoneInfo
) -> tuple[float, float | None, float]:
    """(cost, savings or None, hours) the current plan has for [now's quarter hour, midnight)."""
    if plan is None:
        return 0.0, None, 0.0
    start = floor_quarter(now)
    end = local_midnight(now.astimezone(tz).date() + timedelta(days=1), tz)
    cost = hours = 0.0
    savings: float | None = 0.0
    for step in plan.get("steps", []):
        lo = datetime.fromisoformat(step["start"])
        hi = datetime.fromisoformat(step["end"])
        if lo < start or lo >= end:
            continue
        cost += float(step.get("cost") or 0.0)
        hours += (hi - lo).total_seconds() / 3600
        if savings is not None and step.get("baseline_cost") is not None:
            savings += float(step["baseline_cost"]) - float(step.get("cost") or 0.0)
        else:
            savings = None
    return cost, savings, hours


class BillService:
    """Keeps the status's cost and savings figures, recomputed off the event loop after each plan."""

    def __init__(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        home_id: str,
        site: Callable[[], Mapping[str, Any] | None],
        plan: Callable[[], Mapping[str, Any] | None],
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        on_update: Callable[[], None] | None = None,
    ) -> None:
        self._repo = repo
        self._blocking = blocking
        self._home_id = home_id
        self._site = site
        self._plan = plan
        self._clock = clock
        self._on_update = on_update
        self._closed: dict[tuple[str, date], DayFigures] = {}
        self._figures: dict[str, Any] = {"costs": {"note": "not computed yet"}}
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def status(self) -> dict[str, Any]:
        return self._figures

    def follow(self, _plan: Mapping[str, Any]) -> None:
        """Plan listener: refresh in the background (several plans in a row cost one refresh more)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._refresh_loop(), name="shems-bill")

    async def _refresh_loop(self) -> None:
        while True:
            self._again = False
            await self.refresh()
            if not self._again:
                return

    async def wait(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def refresh(self) -> None:
        site = self._site()
        if site is None:
            self._figures = {"costs": {"note": "no site is configured yet"}}
            return
        now = self._clock()
        try:
            self._figures = await self._blocking(self.compute, dict(site), now, self._plan())
        except Exception as err:  # the store may be away: keep the last figures, say why
            _LOGGER.warning("cost figures not updated", extra={"error": f"{type(err).__name__}: {err}"})
            costs = {**self._figures.get("costs", {}), "note": f"not updated: {type(err).__name__}: {err}"}
            self._figures = {**self._figures, "costs": costs}
        if self._on_update is not None:
            self._on_update()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def compute(
        self, site: Mapping[str, Any], now: datetime, plan: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Blocking: the figures at ``now`` (runs on the store's thread)."""
        tz = ZoneInfo(str(site.get("timezone", "UTC")))
        today = now.astimezone(tz).date()
        first = today.replace(day=1)
        tariff_key = repr(sorted(site.get("price", {}).items())) + str(tz)
        days: list[DayFigures] = []
        day = first
        while day <= today:
            key = (tariff_key, day)
            cached = self._closed.get(key)
            if cached is None:
                cached = day_figures(self._repo, self._home_id, site, day, now, plan)
                day_end = local_midnight(day + timedelta(days=1), tz)
                if now - day_end >= CLOSED_MARGIN:
                    self._closed[key] = cached
            days.append(cached)
            day += timedelta(days=1)
        self._closed = {k: v for k, v in self._closed.items() if k[1] >= first}
        rest_cost, rest_savings, rest_hours = rest_of_today(plan, now, tz)
        today_figures = days[-1]
        measured_h = sum(d.measured_hours for d in days)
        estimated_h = sum(d.estimated_hours for d in days)
        unknown_h = sum(d.unknown_hours for d in days)
        savings_h = sum(d.savings_hours for d in days)
        month_cost = sum(d.cost for d in days)
        month_savings = sum(d.savings for d in days)
        # With a plan in force the figures count what is known (0 so far on the first day); null only
        # without a plan when time has passed and nothing at all is known about it.
        in_force = plan is not None
        cost_known = in_force or measured_h + estimated_h > 0 or unknown_h == 0
        today_known = today_figures.measured_hours + today_figures.estimated_hours > 0
        today_cost_known = in_force or today_known or today_figures.unknown_hours == 0
        elapsed_today = today_figures.measured_hours + today_figures.estimated_hours
        elapsed_today += today_figures.unknown_hours
        savings_known = in_force or savings_h > 0 or measured_h + estimated_h + unknown_h == 0
        today_savings_known = in_force or today_figures.savings_hours > 0 or elapsed_today == 0
        notes = []
        if not any(d.grid_meter for d in days) and measured_h > 0:
            notes.append("no grid meter: metered consumption is priced as if all of it were imported")
        if estimated_h > 0:
            notes.append(f"{estimated_h:g} h without measurements use the plan's cost for them")
        if unknown_h > 0:
            notes.append(f"{unknown_h:g} h had neither measurements with prices nor a plan: not counted")
        if not cost_known:
            notes.append("no measurements and no plan for the time elapsed this month")
        if not savings_known:
            notes.append("no plan with a baseline was in force this month yet: savings unknown")
        elif savings_h == 0 and measured_h + estimated_h + unknown_h > 0:
            notes.append("no plan was in force in the time elapsed: savings count from the first plan on")

        def money(value: float, known: bool) -> float | None:
            return round(value, 4) if known else None

        return {
            "cost_today": money(today_figures.cost, today_cost_known),
            "cost_month": money(month_cost, cost_known),
            "savings_today": money(today_figures.savings, today_savings_known),
            "savings_month": money(month_savings, savings_known),
            "costs": {
                "computed_at": now.isoformat(),
                "month_start": local_midnight(first, tz).isoformat(),
                "today_start": local_midnight(today, tz).isoformat(),
                "measured_until": floor_quarter(now).astimezone(tz).isoformat(),
                "month_measured_cost": round(sum(d.measured_cost for d in days), 4),
                "month_measured_hours": round(measured_h, 2),
                "month_import_kwh": round(sum(d.import_kwh for d in days), 3),
                "month_export_kwh": round(sum(d.export_kwh for d in days), 3),
                "month_estimated_cost": round(sum(d.estimated_cost for d in days), 4),
                "month_estimated_hours": round(estimated_h, 2),
                "month_unknown_hours": round(unknown_h, 2),
                "today_measured_cost": round(today_figures.measured_cost, 4),
                "rest_of_today_cost": round(rest_cost, 4),
                "rest_of_today_hours": round(rest_hours, 2),
                "today_expected_cost": money(today_figures.cost + rest_cost, today_cost_known),
                "month_expected_cost": money(month_cost + rest_cost, cost_known),
                "today_expected_savings": None
                if rest_savings is None or not today_savings_known
                else round(today_figures.savings + rest_savings, 4),
                "note": "; ".join(notes) or None,
            },
        }
