"""The supervisor watchdog: checks the parts that run in threads of their own and restarts what died.

Every ``interval_s`` it

* pings the store (in a worker thread, bounded by a timeout) and remembers the answer for readiness —
  a health request must never wait on a database that is away;
* asks each supervised part whether it is alive (the MQTT ingester's network thread and the telemetry
  writer, the MQTT command link's network thread) and restarts a dead one — after ``first_delay_s``,
  doubling after each restart that did not last (up to ``max_delay_s``), so a part that dies at once
  again is not restarted in a tight loop. Readiness names the dead part until it runs again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shems_optimizer.runtime.tasks import cancel_and_wait

_LOGGER = logging.getLogger(__name__)

STABLE_S = 60.0  # a restarted part that stays alive this long gets its back-off reset


@dataclass
class Supervised:
    name: str
    alive: Callable[[], bool]
    restart: Callable[[], Awaitable[None]]
    restarts: int = 0
    failures: int = 0  # restarts since the part last stayed up for STABLE_S
    dead_since: float | None = None
    restarted_at: float = field(default=float("-inf"))


class StoreProbe:
    """The store's reachability as the watchdog last saw it."""

    def __init__(self, ping: Callable[[], object], ok_detail: str, timeout_s: float) -> None:
        self._ping = ping
        self._timeout = timeout_s
        self._ok_detail = ok_detail
        self.ok = True  # it answered at start-up (the service opened it)
        self.detail = ok_detail

    async def check(self) -> None:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._ping), self._timeout)
        except TimeoutError:
            self.ok, self.detail = False, f"store unreachable: no answer within {self._timeout:g} s"
        except Exception as err:
            self.ok, self.detail = False, f"store unreachable: {type(err).__name__}: {err}"[:300]
        else:
            self.ok, self.detail = True, self._ok_detail

    def health(self) -> tuple[bool, str]:
        return self.ok, self.detail


class Watchdog:
    def __init__(
        self,
        interval_s: float,
        store: StoreProbe | None = None,
        first_delay_s: float = 1.0,
        max_delay_s: float = 60.0,
    ) -> None:
        self._interval = interval_s
        self._store = store
        self._first_delay = first_delay_s
        self._max_delay = max_delay_s
        self._parts: dict[str, Supervised] = {}
        self._task: asyncio.Task[None] | None = None

    def supervise(self, name: str, alive: Callable[[], bool], restart: Callable[[], Awaitable[None]]) -> None:
        self._parts[name] = Supervised(name, alive, restart)

    def restarts(self) -> dict[str, int]:
        return {name: part.restarts for name, part in self._parts.items()}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="shems-watchdog")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("watchdog check failed")
            await asyncio.sleep(self._interval)

    async def check_once(self) -> None:
        if self._store is not None:
            await self._store.check()
        now = time.monotonic()
        for part in self._parts.values():
            await self._check(part, now)

    async def _check(self, part: Supervised, now: float) -> None:
        try:
            alive = part.alive()
        except Exception:
            _LOGGER.exception("watchdog: cannot tell whether %s is alive", part.name)
            return
        if alive:
            part.dead_since = None
            if part.failures and now - part.restarted_at >= STABLE_S:
                part.failures = 0
            return
        if part.dead_since is None:
            part.dead_since = now
            _LOGGER.error("watchdog: %s is not running", part.name)
        delay = min(self._max_delay, self._first_delay * 2**part.failures)
        if now - part.dead_since < delay:
            return
        _LOGGER.warning("watchdog: restarting %s (restart %d)", part.name, part.restarts + 1)
        part.restarts += 1
        part.failures += 1
        part.restarted_at = now
        part.dead_since = None
        try:
            await part.restart()
        except Exception:
            _LOGGER.exception("watchdog: restarting %s failed", part.name)
