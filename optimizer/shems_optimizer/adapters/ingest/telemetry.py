"""Telemetry ingestion wired into the service: MQTT state topics of registered devices → store.

The store's ingester and pipeline do the work (QoS 1 on a persistent session, batching, disk spool
when the database is away). This module binds them to the registered devices, rebinds when devices
come and go, and forwards every stored batch's newest reading per device to the live state (device
status, usage, the ``device_update`` stream events). Refused telemetry is published as dead letters on
``<prefix>/dead_letter``; the watchdog asks :meth:`TelemetryService.alive` and calls
:meth:`TelemetryService.restart` when the ingester's network thread or the writer died.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from shems_optimizer.adapters.ingest.mqtt import MqttConnection, MqttIngester, bindings_for_devices
from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline
from shems_optimizer.app.config import MqttConfig
from shems_optimizer.app.devices.devices import DeviceRegistry
from shems_optimizer.app.records.models import Reading
from shems_optimizer.app.records.repository import Repository, WriteResult

_LOGGER = logging.getLogger(__name__)


class NotifyingRepository:
    """The repository as the pipeline sees it: every successful write also reports the readings."""

    def __init__(self, repo: Repository, on_written: Callable[[Sequence[Reading]], None]) -> None:
        self._repo = repo
        self._on_written = on_written

    def write_readings(self, readings: Sequence[Reading]) -> WriteResult:
        result = self._repo.write_readings(readings)
        self._on_written(readings)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)


class TelemetryService:
    def __init__(
        self, repo: Repository, mqtt: MqttConfig, data_dir: Path, devices: DeviceRegistry, client_id: str
    ) -> None:
        self._repo = repo
        self._mqtt = mqtt
        self._devices = devices
        self._client_id = client_id
        self._spool_dir = data_dir / "telemetry-spool"
        self._pipeline: TelemetryPipeline | None = None
        self._ingester: MqttIngester | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rebind_lock = asyncio.Lock()

    def _written(self, readings: Sequence[Reading]) -> None:
        """Runs in the pipeline's thread: hand the newest reading per device to the event loop."""
        self._devices.record_from_thread(self._loop, readings)

    @property
    def pipeline(self) -> TelemetryPipeline | None:
        return self._pipeline

    @property
    def ingester(self) -> MqttIngester | None:
        return self._ingester

    def problem(self) -> str | None:
        """What stops telemetry from flowing now, or ``None``."""
        if self._pipeline is not None and not self._pipeline.writer_alive():
            return "the telemetry writer thread is not running"
        ingester = self._ingester
        if ingester is None:
            return None
        if not ingester.alive():
            return "the MQTT ingester thread is not running"
        if not ingester.connected.is_set():
            return "reconnecting to the MQTT broker"
        return None

    def alive(self) -> bool:
        """Both threads run (a disconnected ingester is alive: paho reconnects by itself)."""
        if self._pipeline is not None and not self._pipeline.writer_alive():
            return False
        return self._ingester is None or self._ingester.alive()

    async def restart(self) -> None:
        """Bring dead threads back: the writer (its queue and spool are kept) and the ingester."""
        if self._pipeline is not None and not self._pipeline.writer_alive():
            await asyncio.to_thread(self._pipeline.restart)
        if self._ingester is not None and not self._ingester.alive():
            await self.rebind()

    def health(self) -> tuple[bool, str]:
        problem = self.problem()
        if problem is not None:
            return False, problem
        if self._ingester is None:
            return True, "no device state topics to subscribe to"
        return True, "subscribed"

    def dead_letter_health(self, limit_per_min: float) -> tuple[bool, str]:
        """Refused telemetry messages per minute, healthy up to ``limit_per_min``."""
        pipeline = self.pipeline
        if pipeline is None:
            return True, "no telemetry"
        rate = pipeline.refusals.per_minute()
        detail = f"{rate:.1f} refused telemetry messages per minute (limit {limit_per_min:g})"
        return rate <= limit_per_min, detail

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        repo = cast(Repository, NotifyingRepository(self._repo, self._written))
        # Bindings only exist for registered devices, so an unknown device id is almost always one
        # registered a moment ago: look it up at once instead of skipping its first readings.
        config = PipelineConfig(spool_dir=self._spool_dir, known_devices_refresh_s=0.0)
        self._pipeline = TelemetryPipeline(repo, config)
        await asyncio.to_thread(self._pipeline.start)
        await self.rebind()

    async def rebind(self) -> None:
        """(Re)subscribe to the state topics of the registered devices."""
        async with self._rebind_lock:
            if self._pipeline is None:
                return
            old, self._ingester = self._ingester, None
            if old is not None:
                await asyncio.to_thread(old.stop)
            bindings = bindings_for_devices(self._devices.devices())
            if not bindings:
                return
            connection = MqttConnection(
                host=self._mqtt.host,
                port=self._mqtt.port,
                username=self._mqtt.username,
                password=self._mqtt.password,
                client_id=self._client_id,
            )
            ingester = MqttIngester(
                connection,
                bindings,
                self._pipeline,
                dead_letter_topic=f"{self._mqtt.topic_prefix}/dead_letter",
            )
            await asyncio.to_thread(ingester.start)
            self._ingester = ingester
            _LOGGER.info("telemetry subscriptions", extra={"topics": len(bindings)})

    async def stop(self) -> None:
        ingester, self._ingester = self._ingester, None
        if ingester is not None:
            await asyncio.to_thread(ingester.stop)
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            await asyncio.to_thread(pipeline.stop)
