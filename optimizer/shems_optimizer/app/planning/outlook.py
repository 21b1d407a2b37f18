"""The 7-day outlook: the plan's inputs and optimizer on an hourly grid, for costs days ahead.

The 48 h plan (15 min) drives the devices; beyond it nothing is dispatched, yet users want to know what
the week will cost and how much energy and sun to expect. After each successful plan the same inputs
provider (load and PV forecasts, prices) and the same optimizer run on 169 hourly steps from the
plan's hour (7 days whatever the minute), so the cost includes the battery, EV and appliance plan.
Prices not yet published follow the provider's rule (the same hour a day earlier), and each step
says which price it used.

The outlook runs in its own worker thread after the plan is in force: it never delays a plan, and a
failed outlook only leaves the previous one (or none) with the error in the status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shems_optimizer.core.plan import Plan
from shems_optimizer.core.timegrid import TimeGrid
from shems_optimizer.runtime.tasks import cancel_and_wait

from .forecast_series import cost_next_7d
from .plan_document import baseline_step_costs
from .planning_inputs import PlanningInputs

_LOGGER = logging.getLogger(__name__)
OUTLOOK_STEP = timedelta(hours=1)
OUTLOOK_HOURS = 169  # 7 days from the plan's start, from the hour that holds it
PRICE_REPEATED = "repeat of the same hour a day earlier"


QUARTERS_PER_STEP = 4


def hourly_inputs(fine: PlanningInputs, per: int) -> PlanningInputs:
    """Average quarter-hour inputs over each hour (``per`` quarters); a price step counts as
    published only when all its quarters are."""

    def mean(values: Sequence[float] | None) -> list[float] | None:
        if values is None:
            return None
        if len(values) % per:
            raise ValueError(f"{len(values)} quarter-hour values do not fill whole hours")
        return [sum(values[i : i + per]) / per for i in range(0, len(values), per)]

    load, pv = mean(fine.load_kw), mean(fine.pv_kw)
    assert load is not None and pv is not None
    return replace(
        fine,
        load_kw=load,
        pv_kw=pv,
        buy_eur_per_kwh=mean(fine.buy_eur_per_kwh),
        sell_eur_per_kwh=mean(fine.sell_eur_per_kwh),
        published_price_steps=None
        if fine.published_price_steps is None
        else fine.published_price_steps // per,
    )


def outlook_grid(now: datetime, timezone: str) -> TimeGrid:
    """Hourly steps on whole UTC hours (whole local hours too, but for half-hour time zones)."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return TimeGrid.uniform(start, OUTLOOK_STEP, OUTLOOK_HOURS, tz=timezone)


def _price_source(site: Mapping[str, Any], got: PlanningInputs, index: int) -> str:
    if site.get("price", {}).get("kind") in ("fixed", "tou") or got.published_price_steps is None:
        return "tariff"
    return "published" if index < got.published_price_steps else PRICE_REPEATED


def _series_source(notes: list[str], missing: str, made: str, fallback: str) -> str:
    for note in notes:
        if note.startswith(missing):
            return fallback
    return next((n for n in notes if n.startswith(made)), made.rstrip(": "))


def outlook_document(
    plan: Plan,
    site: Mapping[str, Any],
    now: datetime,
    plan_id: str | None,
    notes: list[str],
    got: PlanningInputs,
) -> dict[str, Any]:
    grid, power = plan.grid, plan.power
    hours = [float(h) for h in grid.hours]
    baseline = baseline_step_costs(plan)
    steps = []
    total = 0.0
    for i, (start, end) in enumerate(zip(grid.starts, grid.ends, strict=True)):
        cost = (
            power.import_kw[i] * power.buy_eur_per_kwh[i] - power.export_kw[i] * power.sell_eur_per_kwh[i]
        ) * hours[i]
        total += cost
        steps.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "import_price": power.buy_eur_per_kwh[i],
                "export_price": power.sell_eur_per_kwh[i],
                "pv_w": round(power.pv_forecast_kw[i] * 1000.0, 1),
                "load_w": round(power.load_kw[i] * 1000.0, 1),
                "grid_import_w": round(power.import_kw[i] * 1000.0, 1),
                "grid_export_w": round(power.export_kw[i] * 1000.0, 1),
                "cost": round(cost, 6),
                "baseline_cost": None if baseline is None else round(baseline[i], 6),
                "price_source": _price_source(site, got, i),
            }
        )
    load_source = (
        "flat fallback load"
        if any(n.startswith(("no load forecast yet", "load forecast failed")) for n in notes)
        else next((n for n in notes if n.startswith("load forecast")), "load forecast")
    )
    pv_source = _series_source(notes, "no PV forecast yet", "PV forecast", "no PV forecast (0 W)")
    return {
        "created_at": now.isoformat(),
        "plan_id": plan_id,
        "status": plan.solver.status,
        "step_minutes": 60,
        "currency": site.get("currency", "EUR"),
        "horizon_start": grid.start.isoformat(),
        "horizon_end": grid.end.isoformat(),
        "load_source": load_source,
        "pv_source": pv_source,
        "message": "; ".join(notes + list(plan.notes)) or None,
        "cost_total": round(total, 4),
        "baseline_cost": None if baseline is None else round(sum(baseline), 4),
        "solve_s": round(plan.solver.build_s + plan.solver.solve_s, 4),
        "steps": steps,
    }


Prepare = Callable[[Mapping[str, Any]], Awaitable[Any]]


class OutlookMaker(Protocol):
    def make_outlook(self, site: Mapping[str, Any], now: datetime, plan_id: str | None) -> dict[str, Any]: ...


@dataclass
class OutlookState:
    outlook: dict[str, Any] | None = None
    error: str | None = None
    running: bool = False
    duration_s: float | None = None


class OutlookService:
    """Keeps the latest outlook; :meth:`follow` starts a new one for a plan without waiting for it.

    ``annotate`` is called with the plan id and the fields the outlook adds to that plan
    (``cost_next_7d``), so the plan in force carries them once the outlook is known.
    """

    def __init__(
        self,
        maker: OutlookMaker | None,
        site: Callable[[], Mapping[str, Any] | None],
        annotate: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self._maker = maker
        self._site = site
        self._annotate = annotate
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shems-outlook")
        self._task: asyncio.Task[None] | None = None
        self._pending: tuple[Mapping[str, Any], datetime, Prepare | None] | None = None
        self.state = OutlookState()

    def current(self) -> dict[str, Any] | None:
        return self.state.outlook

    def status(self) -> dict[str, Any]:
        outlook = self.state.outlook or {}
        return {
            "created_at": outlook.get("created_at"),
            "plan_id": outlook.get("plan_id"),
            "horizon_end": outlook.get("horizon_end"),
            "cost_total": outlook.get("cost_total"),
            "running": self.state.running,
            "duration_s": self.state.duration_s,
            "error": self.state.error,
        }

    def follow(self, plan: Mapping[str, Any], prepare: Prepare | None = None) -> None:
        """Plan listener: compute the outlook for ``plan`` in the background (latest plan wins).

        ``prepare(site)`` runs first when given: after a restart the live inputs (market prices)
        have not been read yet, as they are before every plan."""
        if self._maker is None:
            return
        self._pending = (plan, datetime.fromisoformat(str(plan["created_at"])), prepare)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="shems-outlook")

    async def wait(self) -> None:
        """Until the outlook for the latest plan is done (tests; shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while self._pending is not None:
            plan, now, prepare = self._pending
            self._pending = None
            await self._compute(plan, now, prepare)

    async def _compute(self, plan: Mapping[str, Any], now: datetime, prepare: Prepare | None) -> None:
        site = self._site()
        if site is None or self._maker is None:
            return
        if prepare is not None:
            try:
                await prepare(site)
            except Exception:
                _LOGGER.exception("reading live inputs for the outlook failed; using what is known")
        self.state.running = True
        started = time.perf_counter()
        plan_id = str(plan.get("id")) if plan.get("id") is not None else None
        try:
            loop = asyncio.get_running_loop()
            outlook = await loop.run_in_executor(self._executor, self._maker.make_outlook, site, now, plan_id)
        except Exception as err:  # an outlook problem must never touch the plan in force
            self.state.error = f"{type(err).__name__}: {err}"
            _LOGGER.warning("7-day outlook failed; the plan is unaffected", extra={"error": self.state.error})
            return
        finally:
            self.state.running = False
            self.state.duration_s = round(time.perf_counter() - started, 4)
        self.state.outlook = outlook
        self.state.error = None
        _LOGGER.info("7-day outlook", extra={"plan_id": plan_id, "duration_s": self.state.duration_s})
        if self._annotate is not None and plan_id is not None:
            try:
                self._annotate(plan_id, {"cost_next_7d": cost_next_7d(plan, outlook)})
            except Exception:
                _LOGGER.exception("could not add the outlook's figures to the plan")

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._pending = None
        await cancel_and_wait(task)
        self._executor.shutdown(wait=True, cancel_futures=True)
