"""Home Assistant ingestion over HA's WebSocket API (aiohttp).

Connects to ``ws://<ha>/api/websocket`` (inside the add-on: ``ws://supervisor/core/websocket`` with the
Supervisor token), authenticates (``auth_required`` -> ``auth`` -> ``auth_ok``), reads the current states
(``get_states``) and subscribes to the configured entities with ``subscribe_trigger`` (a state trigger
on exactly those entities, so HA does the filtering).

**Sampling.** HA reports a sensor only when its value changes: a heater drawing a steady 2 kW for three
hours produces no event at all. Storing only the changes would make every average (and so every energy
figure) wrong. The ingester therefore holds each entity's last value and stores a sample of every held
value every ``sample_interval_s`` (aligned to the clock, default 10 s) — a time-weighted picture at that
resolution. ``unavailable`` / ``unknown`` / non-numeric states end the hold: nothing is stored until a
number comes back, so the outage is a gap, not a made-up value.

**Units.** Each state carries ``unit_of_measurement``; W/kW/MW, Wh/kWh/MWh, V, A/mA are converted to W,
kWh, V, A. An entity with a missing or unknown unit is rejected (logged once with the entity id) until a
state arrives with a known unit.

**Backfill.** On start, for each entity with no stored history in the last ``backfill_days``, the
ingester reads HA's long-term statistics (``recorder/statistics_during_period``, hourly, unit from
``recorder/get_statistics_metadata``) up to the moment live sampling began, so forecasts have history on
day one. Power-like statistics give their hourly ``mean`` as four readings (at :00, :15, :30, :45 — one
per 15-minute aggregation bucket, so the hour's energy is mean x 1 h); energy statistics give their
``state`` (the meter value at the end of the hour) as one reading just before the hour's end.

The connection is re-established with exponential back-off (1 s ... 30 s) when HA restarts or the
network drops; a rejected token stops the ingester with :class:`HomeAssistantAuthError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    wait_exponential,
)

from shems_optimizer.adapters.homeassistant.client import (
    HomeAssistantAuthError,
    HomeAssistantClient,
    HomeAssistantError,
)
from shems_optimizer.adapters.ingest.payload import PayloadError, check_device_id
from shems_optimizer.adapters.ingest.pipeline import TelemetryPipeline
from shems_optimizer.adapters.ingest.units import Quantity, UnitError, factor, quantity_for_unit
from shems_optimizer.app.records.models import Reading, StoreError

_LOG = logging.getLogger(__name__)

_FIELD_INDEX = {Quantity.POWER: 0, Quantity.ENERGY: 1, Quantity.VOLTAGE: 2, Quantity.CURRENT: 3}
_BACKFILL_TOPIC = "homeassistant/statistics"


# A dropped or refused connection is retried after 1, 2, 4 … 30 s; a rejected token is not.
_RECONNECT_AFTER = retry_if_exception_type(
    (aiohttp.ClientError, HomeAssistantError, OSError, TimeoutError)
) & retry_if_not_exception_type(HomeAssistantAuthError)
_RECONNECT_WAIT = wait_exponential(multiplier=1.0, min=1.0, max=30.0)


@dataclass(frozen=True)
class EntityBinding:
    """An HA entity feeding one value of a SHEMS device. ``quantity`` None: inferred from the unit."""

    entity_id: str
    device_id: str
    quantity: Quantity | None = None

    def __post_init__(self) -> None:
        try:
            check_device_id(self.device_id, f"entity {self.entity_id}")
        except PayloadError as err:
            raise ValueError(str(err)) from err


@dataclass
class HomeAssistantCounts:
    connections: int = 0
    state_changes: int = 0
    gaps: int = 0  # transitions to unavailable / unknown / non-numeric
    unit_errors: int = 0
    samples: int = 0
    backfilled_readings: int = 0


@dataclass
class _Held:
    value: float | None = None  # in the stored unit; None: no usable value (gap)
    unit_error: str | None = None


class HomeAssistantIngester:
    def __init__(
        self,
        client: HomeAssistantClient,
        entities: Sequence[EntityBinding],
        pipeline: TelemetryPipeline,
        sample_interval_s: float = 10.0,
        backfill_days: int = 30,
    ) -> None:
        self._client = client
        self._entities = {e.entity_id: e for e in entities}
        self._pipeline = pipeline
        self._sample_interval = sample_interval_s
        self._backfill_days = backfill_days
        self._held: dict[str, _Held] = {e: _Held() for e in self._entities}
        self._quantity_of: dict[str, Quantity] = {}
        self.counts = HomeAssistantCounts()
        self.connected = asyncio.Event()
        self._backfilled = False
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._started_at: datetime | None = None
        self._failing = False  # an outage is logged once, not at every retry

    # -- public --------------------------------------------------------------------------------------
    def held_value(self, entity_id: str) -> float | None:
        """The value held for ``entity_id`` (in the stored unit) that the next sample stores; None
        while there is none (no state yet, a gap, an unknown unit) or for an entity not bound."""
        held = self._held.get(entity_id)
        return held.value if held is not None else None

    async def run(self) -> None:
        """Connect, backfill once, sample until cancelled; reconnects with back-off (1 s doubling
        to 30 s; it starts again at 1 s after a session that ended without an error)."""
        self._started_at = datetime.now(UTC)
        sampler = asyncio.create_task(self._sample_forever())
        try:
            async with self._client.session() as session:
                while True:
                    async for attempt in AsyncRetrying(
                        retry=_RECONNECT_AFTER, wait=_RECONNECT_WAIT, before_sleep=self._lost, reraise=True
                    ):
                        with attempt:
                            await self._session(session)
                    self.connected.clear()
                    self._fail_pending()
                    await asyncio.sleep(1.0)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler

    # -- connection ----------------------------------------------------------------------------------
    async def _session(self, session: aiohttp.ClientSession) -> None:
        async with self._client.websocket(session) as ws:
            self.counts.connections += 1
            reader = asyncio.create_task(self._read(ws))
            try:
                states = await self._call(ws, {"type": "get_states"})
                for state in states or []:
                    if state.get("entity_id") in self._entities:
                        self._update(state["entity_id"], state)
                await self._call(
                    ws,
                    {
                        "type": "subscribe_trigger",
                        "trigger": {"trigger": "state", "entity_id": sorted(self._entities)},
                    },
                )
                self.connected.set()
                _LOG.info("Home Assistant connected: %d entities subscribed", len(self._entities))
                if not self._backfilled:
                    try:
                        await self._backfill(ws)
                    finally:
                        self._backfilled = True
                await reader
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def _call(self, ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> Any:
        self._next_id += 1
        message_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await ws.send_json({"id": message_id, **message})
        return await asyncio.wait_for(future, self._client.timeout_s * 6)

    def _lost(self, state: RetryCallState) -> None:
        """Before each wait for a reconnection: one warning per outage, the retries at debug level."""
        connected_before = self.connected.is_set()
        log = _LOG.debug if self._failing and not connected_before else _LOG.warning
        error = state.outcome.exception() if state.outcome is not None else None
        wait_s = state.next_action.sleep if state.next_action is not None else 0.0
        log("Home Assistant connection lost (%s); retrying in %.0f s", error, wait_s)
        self._failing = True
        self.connected.clear()
        self._fail_pending()

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HomeAssistantError("connection closed"))
        self._pending.clear()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            data = msg.json()
            if data.get("type") == "result":
                future = self._pending.pop(data.get("id"), None)
                if future is not None and not future.done():
                    if data.get("success"):
                        future.set_result(data.get("result"))
                    else:
                        error = data.get("error", {})
                        future.set_exception(
                            HomeAssistantError(f"{error.get('code')}: {error.get('message')}")
                        )
            elif data.get("type") == "event":
                trigger = data.get("event", {}).get("variables", {}).get("trigger", {})
                entity_id = trigger.get("entity_id")
                if entity_id in self._entities and trigger.get("to_state") is not None:
                    self.counts.state_changes += 1
                    self._update(entity_id, trigger["to_state"])
        self._fail_pending()
        raise HomeAssistantError("Home Assistant closed the connection")

    # -- state handling ------------------------------------------------------------------------------
    def _update(self, entity_id: str, state: dict[str, Any]) -> None:
        held = self._held[entity_id]
        raw = state.get("state")
        try:
            value = float(raw) if isinstance(raw, str) else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            if held.value is not None:
                self.counts.gaps += 1
                _LOG.info("Home Assistant %s is %r: recorded as a gap", entity_id, raw)
            held.value = None
            return
        unit = state.get("attributes", {}).get("unit_of_measurement")
        try:
            self._quantity_of[entity_id], scale = self._scale(entity_id, unit)
        except UnitError as err:
            if held.unit_error != str(err):
                self.counts.unit_errors += 1
                _LOG.error("%s", err)
            held.unit_error, held.value = str(err), None
            return
        held.unit_error = None
        held.value = value * scale

    def _scale(self, entity_id: str, unit: str | None) -> tuple[Quantity, float]:
        binding = self._entities[entity_id]
        quantity = binding.quantity or quantity_for_unit(unit)
        if quantity is None:
            raise UnitError(
                f"Home Assistant entity {entity_id}: unknown unit {unit!r} "
                "(expected W, kW, Wh, kWh, V, A or set the entity's quantity)"
            )
        return quantity, factor(quantity, unit, f"Home Assistant entity {entity_id}")

    async def _sample_forever(self) -> None:
        interval = self._sample_interval
        while True:
            now = time.time()
            tick = math.floor(now / interval) * interval + interval
            await asyncio.sleep(tick - now)
            if not self._backfilled:
                continue  # live samples start after the backfill, so it is never "out of order"
            at = datetime.fromtimestamp(round(tick, 6), UTC)
            readings = self._samples(at)
            if readings:
                self.counts.samples += len(readings)
                await asyncio.to_thread(self._pipeline.submit, "homeassistant/states", readings)

    def _samples(self, at: datetime) -> list[Reading]:
        by_device: dict[str, list[float | None]] = {}
        for entity_id, held in self._held.items():
            if held.value is None:
                continue
            binding = self._entities[entity_id]
            quantity = self._quantity_of.get(entity_id)
            if quantity is None:
                continue
            values = by_device.setdefault(binding.device_id, [None, None, None, None])
            values[_FIELD_INDEX[quantity]] = held.value
        return [Reading(device, at, *values) for device, values in by_device.items()]

    # -- backfill ------------------------------------------------------------------------------------
    async def _backfill(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        end = self._started_at or datetime.now(UTC)
        end = end.replace(minute=0, second=0, microsecond=0)
        horizon = end - timedelta(days=self._backfill_days)
        try:
            latest = await asyncio.to_thread(
                self._pipeline.repository.latest_readings, {e.device_id for e in self._entities.values()}
            )
        except StoreError as err:
            _LOG.warning("statistics backfill skipped: store unavailable (%s)", err)
            return
        wanted = [
            e
            for e in self._entities.values()
            if e.device_id not in latest or latest[e.device_id].time < horizon
        ]
        if not wanted:
            return
        ids = [e.entity_id for e in wanted]
        metadata = await self._call(ws, {"type": "recorder/get_statistics_metadata", "statistic_ids": ids})
        units = {
            m["statistic_id"]: m.get("statistics_unit_of_measurement") or m.get("unit_of_measurement")
            for m in metadata or []
        }
        stats = await self._call(
            ws,
            {
                "type": "recorder/statistics_during_period",
                "start_time": horizon.isoformat(),
                "end_time": end.isoformat(),
                "statistic_ids": ids,
                "period": "hour",
                "types": ["mean", "state"],
            },
        )
        readings: list[Reading] = []
        for binding in wanted:
            rows = (stats or {}).get(binding.entity_id, [])
            if not rows:
                continue
            try:
                quantity, scale = self._scale(binding.entity_id, units.get(binding.entity_id))
            except UnitError as err:
                self.counts.unit_errors += 1
                _LOG.error("statistics backfill: %s", err)
                continue
            readings.extend(_statistics_readings(binding.device_id, quantity, scale, rows))
        if readings:
            readings.sort(key=lambda r: r.time)
            self.counts.backfilled_readings += len(readings)
            await asyncio.to_thread(self._pipeline.submit, _BACKFILL_TOPIC, readings)
            _LOG.info("backfilled %d readings from Home Assistant statistics", len(readings))


def _statistics_readings(
    device_id: str, quantity: Quantity, scale: float, rows: list[dict[str, Any]]
) -> list[Reading]:
    readings: list[Reading] = []
    index = _FIELD_INDEX[quantity]
    for row in rows:
        start = _stat_time(row.get("start"))
        if start is None:
            continue
        if quantity is Quantity.ENERGY:
            value = row.get("state")
            times = [start + timedelta(hours=1) - timedelta(seconds=1)]
        else:
            value = row.get("mean")
            times = [start + timedelta(minutes=15 * q) for q in range(4)]
        if not isinstance(value, int | float) or not math.isfinite(value):
            continue
        values: list[float | None] = [None, None, None, None]
        values[index] = float(value) * scale
        readings.extend(Reading(device_id, t, *values) for t in times)
    return readings


def _stat_time(value: Any) -> datetime | None:
    """Statistics times are Unix milliseconds (HA >= 2023.3) or ISO text (older)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    return None
