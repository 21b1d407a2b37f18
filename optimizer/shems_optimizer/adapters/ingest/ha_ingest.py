"""Home Assistant sensors named in the site document → the store, as the site's meter devices.

The store's Home Assistant ingester does the work (WebSocket subscription, a sample of every held value
every few seconds, unit conversion, gaps for ``unavailable``, statistics backfill on first connect);
this module binds it to the entities of the current site (:mod:`~shems_optimizer.adapters.ingest.site_meters`)
and binds again when the site changes. Its own pipeline spools to disk while the database is away, so
an outage loses nothing. A Home Assistant or database outage is logged once and retried; it never
stops the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from shems_optimizer.adapters.homeassistant.client import HomeAssistantAuthError, HomeAssistantClient
from shems_optimizer.adapters.ingest.homeassistant import (
    EntityBinding,
    HomeAssistantIngester,
)
from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline
from shems_optimizer.app.config import HomeAssistantConfig
from shems_optimizer.app.devices.devices import DeviceRegistry
from shems_optimizer.app.records.models import Reading
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.runtime.tasks import cancel_and_wait

from .site_meters import site_meters
from .telemetry import NotifyingRepository

_LOGGER = logging.getLogger(__name__)
RETRY_S = 30.0


class HaIngestService:
    def __init__(
        self,
        repo: Repository,
        config: HomeAssistantConfig,
        data_dir: Path,
        devices: DeviceRegistry,
        home_id: str,
        sample_interval_s: float = 10.0,
    ) -> None:
        self._repo = repo
        self._config = config
        self._spool_dir = data_dir / "ha-spool"
        self._devices = devices
        self._home_id = home_id
        self._sample_interval_s = sample_interval_s
        self._pipeline: TelemetryPipeline | None = None
        self._ingester: HomeAssistantIngester | None = None
        self._task: asyncio.Task[None] | None = None
        self._bound: tuple[EntityBinding, ...] = ()
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._site: Mapping[str, Any] | None = None
        self._store_warned = False
        self.problem: str | None = None

    @property
    def ingester(self) -> HomeAssistantIngester | None:
        return self._ingester

    @property
    def pipeline(self) -> TelemetryPipeline | None:
        return self._pipeline

    def health(self) -> tuple[bool, str]:
        if self.problem is not None:
            return False, self.problem
        if self._ingester is None:
            return True, "the site names no Home Assistant sensors"
        if self._ingester.connected.is_set():
            return True, f"{len(self._bound)} entities subscribed"
        return False, "connecting to Home Assistant"

    def _written(self, readings: Sequence[Reading]) -> None:
        """In the pipeline's thread: the newest reading per device goes to the live device state."""
        self._devices.record_from_thread(self._loop, readings)

    async def start(self, site: Mapping[str, Any] | None) -> None:
        self._loop = asyncio.get_running_loop()
        repo = cast(Repository, NotifyingRepository(self._repo, self._written))
        pipeline = TelemetryPipeline(
            repo, PipelineConfig(spool_dir=self._spool_dir, known_devices_refresh_s=0.0)
        )
        await asyncio.to_thread(pipeline.start)
        self._pipeline = pipeline
        await self.bind(site)

    def site_changed(self, site: Mapping[str, Any]) -> None:
        """A site listener (may run in any thread): bind to the new site's entities."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._schedule, site)

    def _schedule(self, site: Mapping[str, Any] | None) -> None:
        if self._pipeline is None:
            return
        task = asyncio.get_running_loop().create_task(self.bind(site))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def bind(self, site: Mapping[str, Any] | None) -> None:
        """Ingest exactly the entities the site names (no change when they are the same)."""
        async with self._lock:
            if self._pipeline is None:
                return
            self._site = site
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None
            meters = site_meters(site or {})
            try:
                accepted = await self._devices.sync_site_devices([m.device(self._home_id) for m in meters])
            except Exception as err:  # the database is away: keep what runs, try again later
                if not self._store_warned:
                    _LOGGER.warning(
                        "cannot store the site's meter devices; retrying",
                        extra={"error": f"{type(err).__name__}: {err}", "retry_s": RETRY_S},
                    )
                    self._store_warned = True
                loop = asyncio.get_running_loop()
                self._retry = loop.call_later(RETRY_S, self._schedule, site)
                return
            self._store_warned = False
            wanted = tuple(b for m in meters if m.device_id in accepted for b in m.entities)
            if wanted == self._bound and (self._task is not None or not wanted):
                return
            await self._stop_ingester()
            self._bound = wanted
            self.problem = None
            if not wanted:
                return
            ingester = HomeAssistantIngester(
                HomeAssistantClient(self._config),
                wanted,
                self._pipeline,
                sample_interval_s=self._sample_interval_s,
            )
            self._ingester = ingester
            self._task = asyncio.get_running_loop().create_task(self._run(ingester), name="shems-ha-ingest")
            _LOGGER.info("Home Assistant sensors bound", extra={"entities": len(wanted)})

    async def _run(self, ingester: HomeAssistantIngester) -> None:
        try:
            await ingester.run()
        except HomeAssistantAuthError as err:
            self.problem = str(err)
            _LOGGER.error("Home Assistant sensors are not read", extra={"error": str(err)})
        except Exception as err:  # never take the service down; say what happened once
            self.problem = f"{type(err).__name__}: {err}"
            _LOGGER.exception("Home Assistant sensor ingestion stopped")

    async def _stop_ingester(self) -> None:
        task, self._task = self._task, None
        self._ingester = None
        await cancel_and_wait(task)

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        for task in list(self._pending):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._lock:
            await self._stop_ingester()
            self._bound = ()
            pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            await asyncio.to_thread(pipeline.stop)
