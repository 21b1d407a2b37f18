"""Planning inputs read from Home Assistant just before each run: prices from a price entity, and the
measured state (battery and EV SOC, EV plugged in, tank temperatures) from the entities the site names.

The reads are asynchronous and happen in the event loop (:meth:`LiveInputs.refresh`); the planner,
which runs in a worker thread, only reads the resulting immutable snapshot. :class:`LiveWatcher`
re-reads every minute and asks the MPC loop for a re-plan on new prices, an EV plugged in, or a
battery SOC drifting beyond the plan's corridor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shems_optimizer.app.inputs.load_forecast import LoadForecast
from shems_optimizer.app.inputs.pv_forecast import PvForecast
from shems_optimizer.app.inputs.pv_intervals import PvInterval
from shems_optimizer.app.planning.engine_planner import BasicInputs
from shems_optimizer.app.planning.planning import PlanningError
from shems_optimizer.app.planning.planning_inputs import PlanningInputs
from shems_optimizer.app.site.engine_site import LiveValues
from shems_optimizer.app.site.ev_charger import plugged_from_state
from shems_optimizer.core.timegrid import TimeGrid
from shems_optimizer.runtime.tasks import cancel_and_wait

from .client import HomeAssistantClient
from .price_entity import PriceEntityError, PriceInterval, prices_from_state, prices_on_grid
from .pv_provider import PvProviderError, pv_from_state

_LOGGER = logging.getLogger(__name__)
SOC_DRIFT = 0.10  # re-plan when the measured SOC is this far from the plan's


@dataclass(frozen=True)
class Snapshot:
    fetched_at: datetime | None = None
    buy: tuple[PriceInterval, ...] = ()
    sell: tuple[PriceInterval, ...] = ()
    price_error: str | None = None
    live: LiveValues = field(default_factory=LiveValues)
    load_history: tuple[tuple[datetime, float], ...] = ()  # (15-min bucket start, mean W)
    pv_history: tuple[tuple[datetime, float], ...] = ()  # (15-min bucket start, mean W produced)
    pv_provider: tuple[PvInterval, ...] = ()  # the solar[].forecast_entity forecasts, summed
    pv_provider_error: str | None = None


LoadHistory = Callable[[Mapping[str, Any]], Awaitable[list[tuple[datetime, float]]]]
HISTORY = timedelta(days=28)


class LiveInputs(BasicInputs):
    def __init__(
        self,
        ha: HomeAssistantClient | None,
        load_history: LoadHistory | None = None,
        pv_history: LoadHistory | None = None,
    ) -> None:
        super().__init__()
        self._ha = ha
        self._load_history = load_history
        self._pv_history = pv_history
        self.snapshot = Snapshot()
        self._forecaster = LoadForecast()
        self._pv_forecaster = PvForecast()
        self._history_warned = False

    async def _history(
        self, source: LoadHistory | None, site: Mapping[str, Any]
    ) -> tuple[tuple[datetime, float], ...]:
        if source is None:
            return ()
        try:
            history = tuple(await source(site))
        except Exception as err:  # the database may be away: plan without history (said once)
            if not self._history_warned:
                _LOGGER.warning(
                    "measured history unavailable", extra={"error": f"{type(err).__name__}: {err}"}
                )
                self._history_warned = True
            return ()
        self._history_warned = False
        return history

    async def refresh(self, site: Mapping[str, Any]) -> Snapshot:
        history = await self._history(self._load_history, site)
        pv_history = await self._history(self._pv_history, site)
        if self._ha is None:
            self.snapshot = replace(self.snapshot, load_history=history, pv_history=pv_history)
            return self.snapshot
        ha = self._ha
        price = site.get("price", {})
        buy: tuple[PriceInterval, ...] = ()
        sell: tuple[PriceInterval, ...] = ()
        error = None
        if price.get("kind") == "entity":
            try:
                buy = tuple(await self._prices(ha, price["entity_id"]))
                if price.get("export_entity_id"):
                    sell = tuple(await self._prices(ha, price["export_entity_id"]))
            except PriceEntityError as err:
                error = str(err)
        battery_soc = {}
        for battery in site.get("batteries", []):
            value = await ha.number(battery.get("soc_entity"))
            if value is not None:
                battery_soc[battery["id"]] = min(max(value / 100, 0.0), 1.0)
        ev_soc, ev_plugged = {}, {}
        for ev in site.get("evs", []):
            value = await ha.number(ev.get("soc_entity"))
            if value is not None:
                ev_soc[ev["id"]] = min(max(value / 100, 0.0), 1.0)
            # Only the plug input says whether the car is there: the charger switch is an output,
            # and a plan that switched it off must not read as "car gone" in the next plan.
            plugged = await self._plugged(ha, ev.get("plugged_entity"))
            if plugged is not None:
                ev_plugged[ev["id"]] = plugged
        waiting = {}
        for appliance in site.get("appliances", []):
            armed = await self._armed(ha, appliance.get("switch_entity"))
            if armed is not None:
                waiting[appliance["id"]] = armed
        temperature = {}
        for load in site.get("thermal_loads", []):
            value = await ha.number(load.get("temperature_entity"))
            if value is not None:
                temperature[load["id"]] = value
        provider, provider_error = await self._pv_provider(ha, site)
        self.snapshot = Snapshot(
            datetime.now(tz=UTC),
            buy,
            sell,
            error,
            LiveValues(battery_soc, ev_soc, ev_plugged, temperature, waiting),
            history,
            pv_history,
            provider,
            provider_error,
        )
        return self.snapshot

    @staticmethod
    async def _plugged(ha: HomeAssistantClient, entity_id: str | None) -> bool | None:
        if not entity_id:
            return None
        state = await ha.state(entity_id)
        return None if state is None else plugged_from_state(state.get("state"))

    @staticmethod
    async def _armed(ha: HomeAssistantClient, entity_id: str | None) -> bool | None:
        """Whether a run waits behind the appliance's start switch: off = loaded and waiting for its
        start (the switch turns it on), on = no run waiting (it ran, or runs by hand). ``None`` when
        the switch is unknown or unavailable, so the appliance is planned as if a run waits."""
        if not entity_id:
            return None
        state = await ha.state(entity_id)
        value = None if state is None else state.get("state")
        return {"off": True, "on": False}.get(value) if isinstance(value, str) else None

    @staticmethod
    async def _pv_provider(
        ha: HomeAssistantClient, site: Mapping[str, Any]
    ) -> tuple[tuple[PvInterval, ...], str | None]:
        """The solar[].forecast_entity forecasts summed per interval, or a note on why not."""
        entities = [s["forecast_entity"] for s in site.get("solar") or [] if s.get("forecast_entity")]
        if not entities:
            return (), None
        intervals: list[PvInterval] = []
        for entity_id in entities:
            state = await ha.state(entity_id)
            if state is None:
                return (), f"PV provider forecast {entity_id} cannot be read from Home Assistant"
            try:
                intervals.extend(pv_from_state(entity_id, state))
            except PvProviderError as err:
                return (), f"PV provider forecast not used: {err}"
        return tuple(sorted(intervals, key=lambda i: i.start)), None

    @staticmethod
    async def _prices(ha: HomeAssistantClient, entity_id: str) -> list[PriceInterval]:
        state = await ha.state(entity_id)
        if state is None:
            raise PriceEntityError(f"{entity_id}: cannot be read from Home Assistant")
        return prices_from_state(entity_id, state)

    def inputs(self, site: Mapping[str, Any], grid: TimeGrid, now: datetime) -> PlanningInputs:
        return self._with_pv(site, grid, self._with_load(site, grid, now))

    def _with_pv(self, site: Mapping[str, Any], grid: TimeGrid, base: PlanningInputs) -> PlanningInputs:
        snap = self.snapshot
        kept = [n for n in base.notes if not n.startswith("no PV forecast yet")]
        if snap.pv_provider_error:
            kept.append(snap.pv_provider_error)
        try:
            result = self._pv_forecaster.forecast(site, snap.pv_history, snap.pv_provider, grid)
        except Exception as err:  # a forecasting problem must not stop planning: no PV, said so
            _LOGGER.exception("PV forecast failed; planning without solar production")
            return replace(
                base,
                notes=(
                    *kept,
                    f"no PV forecast yet: the PV forecast failed ({type(err).__name__}: {err}); "
                    "no solar production is assumed",
                ),
            )
        if result.kw is None:
            return replace(base, notes=(*kept, result.note))
        return replace(base, pv_kw=result.kw, notes=(*kept, result.note))

    def _with_load(self, site: Mapping[str, Any], grid: TimeGrid, now: datetime) -> PlanningInputs:
        base = self._price_inputs(site, grid, now)
        try:
            load = self._forecaster.forecast(
                self.snapshot.load_history, grid, str(site.get("timezone", "UTC"))
            )
        except Exception as err:  # a forecasting problem must not stop planning: keep the flat fallback
            _LOGGER.exception("load forecast failed; planning with the flat fallback load")
            return replace(base, notes=(*base.notes, f"load forecast failed ({type(err).__name__}: {err})"))
        if load is None:
            return base
        load_kw, note = load
        notes = (*(n for n in base.notes if not n.startswith("no load forecast yet")), note)
        return replace(base, load_kw=load_kw, notes=notes)

    def _price_inputs(self, site: Mapping[str, Any], grid: TimeGrid, now: datetime) -> PlanningInputs:
        price = site.get("price", {})
        if price.get("kind") != "entity":
            return super().inputs(site, grid, now)
        snap = self.snapshot
        if not snap.buy:
            raise PlanningError(
                snap.price_error or f"prices from {price.get('entity_id')!r} are not available"
            )
        base = super().inputs({**site, "price": {"kind": "fixed", "import_per_kwh": 0.0}}, grid, now)
        buy, filled = prices_on_grid(snap.buy, grid.starts)
        if snap.sell:
            sell, _ = prices_on_grid(snap.sell, grid.starts)
        else:
            sell = [float(price.get("export_per_kwh") or 0.0)] * grid.steps
        notes = list(base.notes)
        if filled:
            notes.append(
                f"published prices cover {grid.steps - filled} of {grid.steps} steps; "
                "later steps repeat the price of the same time a day earlier"
            )
        return PlanningInputs(
            base.load_kw, base.pv_kw, buy, sell, tuple(notes), snap.fetched_at, grid.steps - filled
        )

    def live(self, site: Mapping[str, Any]) -> LiveValues:
        return self.snapshot.live


class LiveWatcher:
    """Polls the live inputs and triggers re-plans on the events that change the best plan."""

    def __init__(
        self,
        inputs: LiveInputs,
        site: Callable[[], Mapping[str, Any] | None],
        plan: Callable[[], Mapping[str, Any] | None],
        trigger: Callable[[str], None],
        every: timedelta = timedelta(minutes=1),
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self._inputs = inputs
        self._site = site
        self._plan = plan
        self._trigger = trigger
        self._every = every
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._last_price_end: datetime | None = None
        self._plugged: dict[str, bool] = {}
        self._waiting: dict[str, bool] = {}
        self._drift_at: dict[str, datetime] = {}

    async def check(self) -> list[str]:
        """One look at the live inputs; returns (and triggers) the reasons to re-plan."""
        site = self._site()
        if site is None:
            return []
        snap = await self._inputs.refresh(site)
        reasons = []
        if snap.buy:
            end = snap.buy[-1].end
            if self._last_price_end is not None and end > self._last_price_end:
                reasons.append("new prices")
            self._last_price_end = end
        for ev_id, plugged in snap.live.ev_plugged.items():
            if plugged and self._plugged.get(ev_id) is False:
                reasons.append(f"EV {ev_id} plugged in")
            self._plugged[ev_id] = plugged
        for appliance_id, waiting in snap.live.appliance_waiting.items():
            if waiting and self._waiting.get(appliance_id) is False:
                reasons.append(f"appliance {appliance_id} loaded")
            self._waiting[appliance_id] = waiting
        plan, now = self._plan(), self._clock()
        if plan is not None:
            step = next(
                (
                    s
                    for s in plan.get("steps", [])
                    if datetime.fromisoformat(s["start"]) <= now < datetime.fromisoformat(s["end"])
                ),
                None,
            )
            for battery_id, soc in snap.live.battery_soc.items():
                planned = (step or {}).get("assets", {}).get(battery_id, {}).get("soc_pct")
                recent = self._drift_at.get(battery_id)
                if planned is None or (recent is not None and now - recent < timedelta(minutes=15)):
                    continue
                if abs(soc - planned / 100) > SOC_DRIFT:
                    self._drift_at[battery_id] = now
                    reasons.append(f"battery {battery_id} SOC drift")
        for reason in reasons:
            self._trigger(reason)
        return reasons

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="shems-live-watcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every.total_seconds())
            try:
                await self.check()
            except Exception:
                _LOGGER.exception("live input check failed; trying again next minute")
