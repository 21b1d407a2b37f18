"""The plan in force and the runs that replace it.

Runs are serialised (one at a time) and executed in a worker thread so the API keeps answering while
the solver works. A failed run never replaces the plan in force: the last good plan stays, the status
says what went wrong, and the next run tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shems_optimizer.app.execution.execution_plan import ExecutionPlan
from shems_optimizer.app.ports import SitePort
from shems_optimizer.runtime.errors import OptimizationFailed, SiteMissing
from shems_optimizer.runtime.events import EventSink
from shems_optimizer.runtime.jsonio import dumps
from shems_optimizer.runtime.logs import correlation

_LOGGER = logging.getLogger(__name__)


class PlanningError(Exception):
    """A run could not produce a plan; the message says why in words a user understands."""


@dataclass(frozen=True)
class PlannedRun:
    """A run's result: the plan document people and clients read, and the typed schedule the plan
    executor follows (``None`` when the planner gives none: then nothing is executed)."""

    document: dict[str, Any]
    execution: ExecutionPlan | None = None


class Planner(Protocol):
    def make_plan(
        self, site: Mapping[str, Any], now: datetime, previous: Mapping[str, Any] | None
    ) -> PlannedRun:
        """The plan for ``site`` from ``now`` on; raise :class:`PlanningError` when impossible."""
        ...


class PlanArchive(Protocol):
    async def latest(self) -> PlannedRun | None: ...

    async def save(self, run: PlannedRun) -> None: ...


@dataclass
class _RunState:
    running: bool = False
    last_run: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_reason: str | None = None
    last_duration_s: float | None = None
    next_run: datetime | None = None


class PlanService:
    """Implements the API's plan port; the MPC loop calls :meth:`run` on its schedule and events."""

    def __init__(
        self,
        site: SitePort,
        planner: Planner | None,
        archive: PlanArchive,
        hub: EventSink,
        executor: Executor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        listeners: list[Callable[[dict[str, Any]], None]] | None = None,
        before_run: Callable[[Mapping[str, Any]], Awaitable[Any]] | None = None,
    ) -> None:
        self._site = site
        self._planner = planner
        self._archive = archive
        self._hub = hub
        self._executor = executor
        self._clock = clock
        self._lock = asyncio.Lock()
        self._state = _RunState()
        self._plan: dict[str, Any] | None = None
        self._plan_json: str | None = None
        self._execution: ExecutionPlan | None = None
        self._listeners = listeners if listeners is not None else []
        self._before_run = before_run
        self._status_parts: list[Callable[[], Mapping[str, Any]]] = []

    async def load(self) -> None:
        """Resume with the plan in force before a restart."""
        latest = await self._archive.latest()
        if latest is not None:
            self._set_plan(latest.document, latest.execution)

    def _set_plan(self, plan: dict[str, Any] | None, execution: ExecutionPlan | None) -> None:
        self._plan = plan
        self._plan_json = None if plan is None else dumps(plan)
        self._execution = execution

    def on_new_plan(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def add_status(self, part: Callable[[], Mapping[str, Any]]) -> None:
        """Merge ``part()`` into every status (e.g. the cost figures kept elsewhere)."""
        self._status_parts.append(part)

    def annotate(self, plan_id: str, fields: Mapping[str, Any]) -> None:
        """Add figures computed after the run (the outlook's ``cost_next_7d``) to the plan in force,
        if it is still ``plan_id``, and tell the stream's clients."""
        if self._plan is None or self._plan.get("id") != plan_id:
            return
        self._set_plan({**self._plan, **fields}, self._execution)
        self._hub.publish("plan_updated", self._plan)

    def set_next_run(self, when: datetime | None) -> None:
        self._state.next_run = when

    def current_plan(self) -> dict[str, Any] | None:
        return self._plan

    def current_plan_json(self) -> str | None:
        return self._plan_json

    def current_execution(self) -> ExecutionPlan | None:
        """The typed schedule of the plan in force, for the plan executor."""
        return self._execution

    def status(self) -> dict[str, Any]:
        state = self._state
        plan = self._plan or {}
        optimizer = "running" if state.running else "failed" if state.last_error else "idle"
        status = {
            "optimizer": optimizer,
            "last_run": state.last_run,
            "last_success": state.last_success,
            "next_run": state.next_run,
            "last_error": state.last_error,
            "last_reason": state.last_reason,
            "last_duration_s": state.last_duration_s,
            "plan_id": plan.get("id"),
            "cost_today": plan.get("cost_today"),
            "cost_month": plan.get("cost_month"),
            "savings_today": plan.get("savings_today"),
            "savings_month": plan.get("savings_month"),
            "currency": plan.get("currency", (self._site.get() or {}).get("currency", "EUR")),
            "prices_updated_at": plan.get("prices_updated_at"),
            "cost_next_7d": plan.get("cost_next_7d"),
        }
        for part in self._status_parts:
            status.update(part())
        return status

    async def optimize_now(self, reason: str) -> dict[str, Any]:
        return await self.run(reason)

    async def run(self, reason: str) -> dict[str, Any]:
        """Make a new plan; raise :class:`SiteMissing` / :class:`OptimizationFailed` on failure."""
        async with self._lock:
            site = self._site.get()
            if site is None:
                raise SiteMissing("no site is configured yet: PUT /api/v1/site first")
            if self._planner is None:
                self._state.last_run = self._clock()
                self._failed(
                    "the optimizer engine is not available in this installation", reason, time.perf_counter()
                )
            with correlation() as cid:
                if self._before_run is not None:
                    try:
                        await self._before_run(site)  # e.g. read prices and SOC from Home Assistant
                    except Exception:
                        _LOGGER.exception("reading live inputs failed; planning with what is known")
                return await self._run_locked(site, reason, cid)

    async def _run_locked(self, site: Mapping[str, Any], reason: str, cid: str) -> dict[str, Any]:
        assert self._planner is not None
        state = self._state
        state.running = True
        state.last_reason = reason
        now = self._clock()
        state.last_run = now
        self._hub.publish("status", self.status())
        started = time.perf_counter()
        planner, previous = self._planner, self._plan
        try:
            loop = asyncio.get_running_loop()
            made = await loop.run_in_executor(self._executor, planner.make_plan, site, now, previous)
        except PlanningError as err:
            return self._failed(str(err), reason, started)
        except Exception as err:  # a bug or a broken input must not end the service
            _LOGGER.exception("planning run failed unexpectedly")
            return self._failed(f"unexpected {type(err).__name__}: {err}", reason, started)
        finally:
            state.running = False
        plan = made.document
        plan.setdefault("correlation_id", cid)
        plan.setdefault("reason", reason)
        try:
            await self._archive.save(made)
        except Exception as err:  # e.g. the database is away: the plan still goes into force
            _LOGGER.error(
                "plan not archived; it is in force but will not survive a restart",
                extra={"plan_id": plan.get("id"), "error": f"{type(err).__name__}: {err}"},
            )
        self._set_plan(plan, made.execution)
        state.last_success = now
        state.last_error = None
        state.last_duration_s = round(time.perf_counter() - started, 4)
        _LOGGER.info(
            "new plan",
            extra={
                "plan_id": plan.get("id"),
                "reason": reason,
                "duration_s": state.last_duration_s,
                "plan_status": plan.get("status"),
            },
        )
        self._hub.publish("plan_updated", plan)
        self._hub.publish("status", self.status())
        for listener in self._listeners:
            try:
                listener(plan)
            except Exception:
                _LOGGER.exception("a plan listener failed")
        return plan

    def _failed(self, message: str, reason: str, started: float) -> dict[str, Any]:
        state = self._state
        state.running = False
        state.last_error = message
        state.last_duration_s = round(time.perf_counter() - started, 4)
        _LOGGER.error(
            "planning failed; the last good plan stays in force",
            extra={"reason": reason, "error": message, "kept_plan_id": (self._plan or {}).get("id")},
        )
        self._hub.publish("status", self.status())
        raise OptimizationFailed(message)
