"""Registered devices: stored in the repository, with their latest state kept in memory.

The registry also tells the command dispatcher where a device's commands go (its MQTT command and ack
topics, defaulting to ``<prefix>/devices/<id>/command`` and ``…/ack``, or its Home Assistant
entity), and the stream hears of every state update.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shems_optimizer.app.execution.routes import (
    CommandRoute,
    HomeAssistantRoute,
    MqttRoute,
    default_mqtt_route,
)
from shems_optimizer.app.records.models import Device, DeviceType, Reading
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.runtime.blocking import BlockingRunner
from shems_optimizer.runtime.errors import Conflict
from shems_optimizer.runtime.events import EventSink
from shems_optimizer.runtime.jsonio import EncodedJson

_LOGGER = logging.getLogger(__name__)
FUTURE_SKEW = timedelta(minutes=5)  # as ingestion's plausibility rules allow


def reading_status(reading: Reading) -> dict[str, Any]:
    return {
        "power_w": reading.power_w,
        "energy_kwh": reading.energy_kwh,
        "voltage_v": reading.voltage_v,
        "current_a": reading.current_a,
        "updated_at": reading.time.isoformat(),  # encoded once, served many times
    }


class DeviceRegistry:
    """Implements the API's device port."""

    def __init__(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        home_id: str,
        topic_prefix: str = "shems",
        hub: EventSink | None = None,
    ) -> None:
        self._repo = repo
        self._blocking = blocking
        self._home_id = home_id
        self._prefix = topic_prefix
        self._hub = hub
        self._devices: dict[str, Device] = {}
        self._status: dict[str, dict[str, Any]] = {}
        # The status answer per device, encoded once and served until the device's state changes.
        self._status_answers: dict[str, EncodedJson] = {}
        self._listeners: list[Callable[[Device | None], None]] = []

    async def load(self) -> None:
        devices = await self._blocking(self._repo.list_devices, self._home_id)
        self._devices = {d.id: d for d in devices}
        latest = await self._blocking(self._repo.latest_readings, list(self._devices))
        self._status = {device_id: reading_status(r) for device_id, r in latest.items()}
        self._status_answers.clear()

    def on_change(self, listener: Callable[[Device | None], None]) -> None:
        """``listener(device)`` after a registration, ``listener(None)`` after a removal."""
        self._listeners.append(listener)

    # -- command routing ---------------------------------------------------------------------------

    def route_now(self, device_id: str) -> CommandRoute | None:
        device = self._devices.get(device_id)
        if device is None or device.attributes.get("source") == "site":
            return None  # the site's meters only measure
        entity = device.attributes.get("ha_entity_id")
        if isinstance(entity, str) and entity:
            return HomeAssistantRoute(entity)
        mqtt = device.attributes.get("mqtt") or {}
        default = default_mqtt_route(self._prefix, device_id)
        return MqttRoute(
            command_topic=str(mqtt.get("command_topic") or default.command_topic),
            ack_topic=str(mqtt.get("ack_topic") or default.ack_topic),
        )

    async def route(self, device_id: str) -> CommandRoute | None:
        return self.route_now(device_id)

    def devices(self) -> list[Device]:
        return list(self._devices.values())

    # -- live state ---------------------------------------------------------------------------------

    def record_from_thread(self, loop: asyncio.AbstractEventLoop | None, readings: Sequence[Reading]) -> None:
        """From an ingestion thread: hand the newest reading per device to :meth:`record_readings` in the
        event loop (one call per batch, so a burst of samples does not flood the loop)."""
        newest: dict[str, Reading] = {}
        for reading in readings:
            current = newest.get(reading.device_id)
            if current is None or reading.time > current.time:
                newest[reading.device_id] = reading
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.record_readings, list(newest.values()))

    def record_readings(self, readings: list[Reading]) -> None:
        """Called with freshly ingested readings (in the event loop); keeps the newest per device.

        A state dated in the future (a reading from 2100 stored before ingestion refused such times)
        is replaced by any new reading: it must not freeze the device's live state."""
        future = datetime.now(UTC) + FUTURE_SKEW
        for reading in readings:
            current = self._status.get(reading.device_id)
            if current is not None:
                shown = datetime.fromisoformat(current["updated_at"])
                if reading.time <= shown <= future:
                    continue
            status = reading_status(reading)
            self._status[reading.device_id] = status
            self._status_answers.pop(reading.device_id, None)
            if self._hub is not None:
                self._hub.publish("device_update", self._update_message(reading.device_id, status))

    def _update_message(self, device_id: str, status: dict[str, Any]) -> dict[str, Any]:
        """The stream's ``device_update``: it says whether the device is a mirror of a Home Assistant
        sensor of the site (``source: site``), which Home Assistant already shows and need not fetch."""
        device = self._devices.get(device_id)
        source = "site" if device is not None and device.attributes.get("source") == "site" else "registered"
        return {"device_id": device_id, "source": source, "status": status}

    # -- API port -----------------------------------------------------------------------------------

    def _record(self, device: Device) -> dict[str, Any]:
        route = self.route_now(device.id)
        mqtt = None
        if isinstance(route, MqttRoute):
            mqtt = {
                "state_topic": (device.attributes.get("mqtt") or {}).get("state_topic")
                or (device.mqtt_topics[0] if device.mqtt_topics else None),
                "command_topic": route.command_topic,
                "ack_topic": route.ack_topic,
            }
        return {
            "device_id": device.id,
            "name": device.name,
            "type": device.type.value,
            "mqtt": mqtt,
            "ha_entity_id": device.attributes.get("ha_entity_id"),
            "firmware": device.firmware,
            "max_power_w": device.attributes.get("max_power_w"),
            "last_seen": device.last_seen,
            "source": "site" if device.attributes.get("source") == "site" else "registered",
            "status": self._status.get(device.id),
        }

    async def list_devices(self) -> list[dict[str, Any]]:
        return [self._record(d) for d in sorted(self._devices.values(), key=lambda d: d.id)]

    async def get_device(self, device_id: str) -> dict[str, Any] | None:
        device = self._devices.get(device_id)
        return None if device is None else self._record(device)

    async def register_device(self, device: Mapping[str, Any]) -> dict[str, Any]:
        device_id = str(device["device_id"])
        if device_id in self._devices:
            raise Conflict(f"a device with id {device_id!r} is already registered")
        mqtt = dict(device.get("mqtt") or {})
        attributes: dict[str, Any] = {"mqtt": mqtt}
        if device.get("ha_entity_id"):
            attributes["ha_entity_id"] = device["ha_entity_id"]
        if device.get("payload_format"):
            attributes["payload_format"] = device["payload_format"]
        if device.get("max_power_w") is not None:
            attributes["max_power_w"] = float(device["max_power_w"])
        record = Device(
            id=device_id,
            home_id=self._home_id,
            type=DeviceType(device["type"]),
            name=str(device["name"]),
            mqtt_topics=(mqtt["state_topic"],) if mqtt.get("state_topic") else (),
            firmware=device.get("firmware"),
            attributes=attributes,
        )
        await self._blocking(self._repo.upsert_device, record)
        self._devices[device_id] = record
        self._status_answers.pop(device_id, None)
        _LOGGER.info("device registered", extra={"device_id": device_id, "device_type": record.type.value})
        for listener in self._listeners:
            listener(record)
        return self._record(record)

    async def delete_device(self, device_id: str) -> bool:
        if device_id not in self._devices:
            return False
        await self._blocking(self._repo.delete_device, device_id)
        del self._devices[device_id]
        self._status.pop(device_id, None)
        self._status_answers.pop(device_id, None)
        _LOGGER.info("device removed", extra={"device_id": device_id})
        for listener in self._listeners:
            listener(None)
        return True

    async def sync_site_devices(self, wanted: Sequence[Device]) -> set[str]:
        """Make the site's meter devices exactly ``wanted``: new or changed ones are stored, ones the site
        no longer names are removed (their readings stay). They have no MQTT topics or commands, so the
        registration listeners (MQTT subscriptions) are not told. Returns the ids now in place."""
        by_id = {d.id: d for d in wanted}
        accepted: set[str] = set()
        for device in wanted:
            current = self._devices.get(device.id)
            if current is not None and current.attributes.get("source") != "site":
                _LOGGER.warning(
                    "a registered device already uses a site meter's id; its readings are not stored",
                    extra={"device_id": device.id},
                )
                continue
            if current is None or (current.type, current.name, current.attributes) != (
                device.type,
                device.name,
                device.attributes,
            ):
                await self._blocking(self._repo.upsert_device, device)
                self._devices[device.id] = device
            accepted.add(device.id)
        for device_id, device in list(self._devices.items()):
            if device.attributes.get("source") == "site" and device_id not in by_id:
                await self._blocking(self._repo.delete_device, device_id)
                del self._devices[device_id]
                self._status.pop(device_id, None)
        return accepted

    def latest_status(self, device_id: str) -> dict[str, Any] | None:
        """The device's latest state; the same encoded answer until a reading or registration changes it
        (treat it as read-only)."""
        if device_id not in self._devices:
            return None
        answer = self._status_answers.get(device_id)
        if answer is None:
            status = self._status.get(device_id)
            answer = EncodedJson(
                {"device_id": device_id, "state": status, "time": status["updated_at"] if status else None}
            )
            self._status_answers[device_id] = answer
        return answer

    def last_seen(self) -> dict[str, datetime]:
        return {d: datetime.fromisoformat(s["updated_at"]) for d, s in self._status.items()}
