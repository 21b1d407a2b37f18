"""The MPC loop: re-plan every N minutes and soon after anything that changes the best plan.

Events (new prices, an EV plugged in, SOC drifting beyond the plan's corridor, a new schedule, a new
site) call :meth:`MpcLoop.trigger`; triggers arriving close together are merged into one run after a
short settle delay, so a burst of updates costs one solve. Forecasters are retrained once a day.
A failed run keeps the last good plan (see :class:`~shems_optimizer.app.planning.planning.PlanService`)
and the loop carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from shems_optimizer.runtime.errors import OptimizationFailed, SiteMissing
from shems_optimizer.runtime.tasks import cancel_and_wait

from .planning import PlanService

_LOGGER = logging.getLogger(__name__)


class MpcLoop:
    def __init__(
        self,
        plans: PlanService,
        interval: timedelta,
        settle: timedelta = timedelta(seconds=2),
        retrain: Callable[[], Awaitable[None]] | None = None,
        retrain_every: timedelta = timedelta(days=1),
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"the re-plan interval must be positive, got {interval}")
        self._plans = plans
        self._interval = interval
        self._settle = settle
        self._retrain = retrain
        self._retrain_every = retrain_every
        self._clock = clock
        self._wake = asyncio.Event()
        self._reasons: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._last_retrain: datetime | None = None
        self._running = False
        self.runs = 0
        self.failures = 0

    @property
    def busy(self) -> bool:
        """A re-plan is asked for (settling) or under way: the plan in force is about to change."""
        return self._wake.is_set() or self._running

    def trigger(self, reason: str) -> None:
        """Ask for a re-plan soon (thread-safe when called through ``loop.call_soon_threadsafe``)."""
        self._reasons.append(reason)
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="shems-mpc-loop")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        reason = "start-up"
        # After a restart a plan made less than one interval ago stays in force until it is due.
        made = (self._plans.current_plan() or {}).get("created_at")
        if made:
            due = datetime.fromisoformat(str(made)) + self._interval
            wait_s = (due - self._clock()).total_seconds()
            if wait_s > 0:
                self._plans.set_next_run(due)
                reason = await self._wait_for_reason(wait_s)
        while True:
            self._running = True
            try:
                await self._maybe_retrain()
                await self._run_once(reason)
            finally:
                self._running = False
            next_run = self._clock() + self._interval
            self._plans.set_next_run(next_run)
            reason = await self._wait_for_reason(self._interval.total_seconds())

    async def _wait_for_reason(self, timeout_s: float) -> str:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=timeout_s)
        except TimeoutError:
            self._running = True
            return "interval"
        # Let a burst of events settle into one run.
        await asyncio.sleep(self._settle.total_seconds())
        self._running = True  # before the wake flag drops, so ``busy`` never blinks off in between
        self._wake.clear()
        reasons, self._reasons = self._reasons, []
        return ",".join(dict.fromkeys(reasons)) or "event"

    async def _run_once(self, reason: str) -> None:
        self.runs += 1
        try:
            await self._plans.run(reason)
        except SiteMissing:
            _LOGGER.info("no site configured yet; waiting for one before planning")
        except OptimizationFailed as err:
            self.failures += 1
            _LOGGER.warning(
                "re-plan failed, keeping the last good plan", extra={"reason": reason, "error": str(err)}
            )
        except Exception:  # whatever happens, the loop must keep running
            self.failures += 1
            _LOGGER.exception("re-plan crashed, keeping the last good plan", extra={"reason": reason})

    async def _maybe_retrain(self) -> None:
        if self._retrain is None:
            return
        now = self._clock()
        if self._last_retrain is not None and now - self._last_retrain < self._retrain_every:
            return
        self._last_retrain = now
        try:
            await self._retrain()
        except Exception:
            _LOGGER.exception("forecaster retraining failed; the previous models stay in use")
