"""The planner the service uses: site document + inputs → optimizer → plan document.

The horizon is 48 h in 15-minute steps from the current quarter hour. Inputs (load and PV forecasts,
prices, live SOC, schedules) come from an :class:`InputsProvider`; the default one,
:class:`BasicInputs`, uses the tariff of the document and flat fallbacks, and says so in the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from shems_optimizer.app.execution.execution_plan import ExecutionPlan
from shems_optimizer.app.site.engine_site import (
    ApplianceRequest,
    LiveValues,
    build_site,
    document_field,
    tariff_prices,
)
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.series import Series
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.plan import Plan
from shems_optimizer.core.planner import Options, optimize
from shems_optimizer.core.planner import PlanningError as EnginePlanningError
from shems_optimizer.core.timegrid import TimeGrid

from .outlook import QUARTERS_PER_STEP, hourly_inputs, outlook_document, outlook_grid
from .plan_document import plan_document
from .planning import PlannedRun, PlanningError
from .planning_inputs import PlanningInputs

STEP = timedelta(minutes=15)
HORIZON_STEPS = 192  # 48 h
PLAN_TIME_LIMIT_S = 30.0
FLAT_LOAD_KW = 0.4  # used only until a load forecast exists; the plan says so


class InputsProvider(Protocol):
    def inputs(self, site: Mapping[str, Any], grid: TimeGrid, now: datetime) -> PlanningInputs: ...

    def live(self, site: Mapping[str, Any]) -> LiveValues: ...

    def requests(self, now: datetime) -> Sequence[ApplianceRequest]: ...


@dataclass
class BasicInputs:
    """Prices from a fixed or time-of-use tariff in the document; flat load and no PV until forecasts
    exist. Appliance goals come from ``requests_source`` (the schedule book)."""

    requests_source: Callable[[datetime], Sequence[ApplianceRequest]] | None = None

    def inputs(self, site: Mapping[str, Any], grid: TimeGrid, now: datetime) -> PlanningInputs:
        price = site.get("price", {})
        n = grid.steps
        notes = [
            f"no load forecast yet: a flat {FLAT_LOAD_KW * 1000:.0f} W base load is assumed",
            "no PV forecast yet: no solar production is assumed",
        ]
        prices = tariff_prices(site, grid.starts)
        if prices is not None:
            buy: list[float] | None = [p[0] for p in prices]
            sell: list[float] | None = [p[1] for p in prices]
        else:
            raise PlanningError(
                f"prices from {price.get('entity_id')!r} are not available yet; "
                "use a fixed or time-of-use tariff"
            )
        return PlanningInputs([FLAT_LOAD_KW] * n, [0.0] * n, buy, sell, tuple(notes), None)

    def live(self, site: Mapping[str, Any]) -> LiveValues:
        return LiveValues()

    def requests(self, now: datetime) -> Sequence[ApplianceRequest]:
        return [] if self.requests_source is None else self.requests_source(now)


def horizon(now: datetime, timezone: str) -> TimeGrid:
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return TimeGrid.uniform(start, STEP, HORIZON_STEPS, tz=timezone)


def with_leftover_value(model: Site, buy: Sequence[float] | None) -> Site:
    """Energy left in a battery at the horizon's end is worth what it saves later: the horizon's mean
    import price x the battery's discharge efficiency (as the backtests value it). Valued at nothing,
    a plan would export a PV surplus at the feed-in price rather than keep it past the horizon's
    needs. A battery told to end full (its charge mode) keeps that target instead."""
    if not buy or not model.batteries:
        return model
    mean = max(float(np.mean(buy)), 0.0)
    return replace(
        model,
        batteries=tuple(
            b
            if b.terminal_soc is not None or b.terminal_value_eur_per_kwh
            else replace(b, terminal_value_eur_per_kwh=mean * b.discharge_efficiency)
            for b in model.batteries
        ),
    )


class EnginePlanner:
    def __init__(
        self,
        inputs: InputsProvider | None = None,
        options: Options | None = None,
        on_plan: Callable[[Plan], None] | None = None,
    ) -> None:
        self.inputs: InputsProvider = inputs or BasicInputs()
        self._options = options or Options(time_limit_s=PLAN_TIME_LIMIT_S)
        self._on_plan = on_plan  # told of every plan put in force (e.g. to record what it switches)
        # The typed plan in force, made by this planner: the next plan is kept close to it where
        # their horizons overlap (the optimizer's stability term), so near-equal optima (quarter
        # hours of one hourly price) do not make the EV's schedule jump from one plan to the next.
        self._in_force: Plan | None = None

    def make_plan(
        self, site: Mapping[str, Any], now: datetime, previous: Mapping[str, Any] | None
    ) -> PlannedRun:
        grid = horizon(now, str(site.get("timezone", "UTC")))
        in_force = self._in_force if previous is not None else None
        plan, notes, got = self.solve(site, grid, now, previous_plan=in_force)
        self._in_force = plan
        if self._on_plan is not None:
            self._on_plan(plan)
        document = plan_document(plan, site, now, [*notes, *got.notes], got.prices_updated_at)
        return PlannedRun(document, ExecutionPlan.from_plan(plan, str(document["id"])))

    def make_outlook(self, site: Mapping[str, Any], now: datetime, plan_id: str | None) -> dict[str, Any]:
        """The 7-day hourly outlook: same inputs and optimizer as the plan, on an hourly grid."""
        timezone = str(site.get("timezone", "UTC"))
        grid = outlook_grid(now, timezone)
        # Inputs at the plan's 15 minutes, averaged per hour: quarter-hour market prices and load
        # shapes count in full, not only the quarter that starts each hour.
        fine = TimeGrid.uniform(grid.start, STEP, grid.steps * QUARTERS_PER_STEP, tz=timezone)
        hourly = hourly_inputs(self.inputs.inputs(site, fine, now), QUARTERS_PER_STEP)
        limit = min(self._options.time_limit_s, 20.0)
        plan, notes, got = self.solve(site, grid, now, time_limit_s=limit, inputs=hourly)
        return outlook_document(plan, site, now, plan_id, [*notes, *got.notes], got)

    def solve(
        self,
        site: Mapping[str, Any],
        grid: TimeGrid,
        now: datetime,
        time_limit_s: float | None = None,
        inputs: PlanningInputs | None = None,
        previous_plan: Plan | None = None,
    ) -> tuple[Plan, list[str], PlanningInputs]:
        """Optimize ``site`` on ``grid`` (with ``inputs`` when given, else the provider's); raise
        :class:`PlanningError` in the document's words."""
        try:
            model, notes = build_site(site, grid.start, self.inputs.live(site), self.inputs.requests(now))
            got = inputs if inputs is not None else self.inputs.inputs(site, grid, now)
            model = with_leftover_value(model, got.buy_eur_per_kwh)
            series = Series.from_arrays(
                grid,
                load_kw=np.asarray(got.load_kw, dtype=float),
                pv_kw=np.asarray(got.pv_kw, dtype=float),
                buy_eur_per_kwh=None
                if got.buy_eur_per_kwh is None
                else np.asarray(got.buy_eur_per_kwh, dtype=float),
                sell_eur_per_kwh=None
                if got.sell_eur_per_kwh is None
                else np.asarray(got.sell_eur_per_kwh, dtype=float),
            )
            options = Options(
                objective="self_consumption" if site.get("mode") == "self_consumption" else "cost",
                mip_gap=self._options.mip_gap,
                time_limit_s=self._options.time_limit_s if time_limit_s is None else time_limit_s,
                threads=self._options.threads,
                previous_plan=previous_plan,
                solver=self._options.solver,
            )
            plan = optimize(model, series, options)
        except ConfigError as err:
            raise PlanningError(f"{document_field(site, err.field)}: {err.problem}") from err
        except EnginePlanningError as err:
            raise PlanningError(str(err)) from err
        return plan, notes, got
