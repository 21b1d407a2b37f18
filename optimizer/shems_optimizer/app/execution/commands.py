"""Device commands with acknowledgements: pending → sent → acked | failed | expired, every step logged.

A command is recorded ``pending`` before anything is sent, so nothing is lost if the broker or the
process goes away. It is published (QoS 1) only while the broker is connected; while it is not,
commands wait and go out once it returns — each exactly once — unless they expire first. Without an
ack the command is re-sent after 1 s, 2 s and 4 s (the configured delays); after the last wait it is
``expired``, with one warning in the log and one row per missed attempt in the command-error table.
A device answering ``error`` makes it ``failed``. Commands to Home Assistant entities go through HA's
REST service calls with the same retry rules (a 2xx answer is the ack).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shems_optimizer.app.config import CommandSettings
from shems_optimizer.app.execution.protocol import Ack, AckError, command_message, parse_ack
from shems_optimizer.app.records.models import CommandStatus, DeviceCommand, StoreError
from shems_optimizer.app.records.repository import Repository, new_id
from shems_optimizer.runtime.blocking import BlockingRunner
from shems_optimizer.runtime.errors import InputRejected
from shems_optimizer.runtime.events import EventSink
from shems_optimizer.runtime.logs import current_correlation_id, new_correlation_id

from .routes import CommandRoute, HaCallRefused, HomeAssistantRoute, MqttRoute

_LOGGER = logging.getLogger(__name__)


RouteLookup = Callable[[str], Awaitable[CommandRoute | None]]


class CommandLink(Protocol):
    """The MQTT link as the dispatcher uses it
    (:class:`~shems_optimizer.adapters.mqtt.mqtt_link.MqttLink`)."""

    connected: asyncio.Event

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> Any: ...


class ServiceCaller(Protocol):
    """Home Assistant's service calls as the dispatcher uses them
    (:class:`~shems_optimizer.adapters.homeassistant.ha_services.HaServiceCaller`); raises
    :class:`HaCallRefused` when retrying will not help."""

    async def call(
        self, route: HomeAssistantRoute, command: str, payload: Mapping[str, Any], correlation_id: str | None
    ) -> None: ...


def command_record(command: DeviceCommand) -> dict[str, Any]:
    return {
        "command_id": command.id,
        "device_id": command.device_id,
        "command": command.type,
        "payload": command.payload,
        "status": command.status.value,
        "correlation_id": command.correlation_id,
        "created_at": command.created_at,
        "sent_at": command.sent_at,
        "acked_at": command.acked_at,
        "finished_at": command.finished_at,
        "expires_at": command.expires_at,
        "attempts": command.attempts,
        "error": command.error,
    }


class CommandDispatcher:
    """Implements the API's command port and drives each command until it is final."""

    def __init__(
        self,
        store: Repository,
        blocking: BlockingRunner,
        routes: RouteLookup,
        settings: CommandSettings,
        mqtt: CommandLink | None = None,
        homeassistant: ServiceCaller | None = None,
        hub: EventSink | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self._store = store
        self._blocking = blocking
        self._routes = routes
        self._settings = settings
        self._mqtt = mqtt
        self._ha = homeassistant
        self._hub = hub
        self._clock = clock
        self._acks: dict[str, asyncio.Future[Ack]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ack_topics: dict[str, str] = {}  # command id -> the one topic its ack may come from
        self.bad_acks = 0

    # -- lifecycle ------------------------------------------------------------------------------------

    def ack_handler(self, topic: str, raw: bytes) -> None:
        """Handle a message from an ack topic (called in the event loop)."""
        try:
            ack = parse_ack(raw)
        except AckError as err:
            self.bad_acks += 1
            _LOGGER.warning("unreadable command ack ignored", extra={"topic": topic, "error": str(err)})
            return
        future = self._acks.get(ack.command_id)
        if future is None or future.done():
            _LOGGER.debug("ack for a command not in flight", extra={"command_id": ack.command_id})
            return
        expected = self._ack_topics.get(ack.command_id)
        if expected is not None and topic != expected:
            self.bad_acks += 1
            _LOGGER.warning(
                "command ack on another device's topic ignored",
                extra={"command_id": ack.command_id, "topic": topic, "expected_topic": expected},
            )
            return
        future.set_result(ack)

    async def resume_unfinished(self) -> int:
        """After a restart: carry on with commands still pending or sent (or expire them)."""
        unfinished = await self._blocking(
            self._store.list_commands, None, (CommandStatus.PENDING, CommandStatus.SENT), 10_000
        )
        for command in reversed(unfinished):  # oldest first
            route = await self._routes(command.device_id)
            expires_at = command.expires_at or command.created_at + timedelta(
                seconds=self._settings.default_ttl_s
            )
            if route is None:
                await self._finish(command, CommandStatus.EXPIRED, "device no longer registered")
                continue
            if self._clock() >= expires_at:
                await self._finish(
                    command, CommandStatus.EXPIRED, "expired while the service was not running"
                )
                continue
            self._spawn(command, route, expires_at)
        return len(unfinished)

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- API port -------------------------------------------------------------------------------------

    async def submit(
        self, device_id: str, command_type: str, payload: Mapping[str, Any], ttl_s: float | None
    ) -> dict[str, Any]:
        route = await self._routes(device_id)
        if route is None:
            raise LookupError(device_id)
        if isinstance(route, MqttRoute) and self._mqtt is None:
            raise InputRejected("this device takes commands over MQTT, but no MQTT broker is configured")
        if isinstance(route, HomeAssistantRoute) and self._ha is None:
            raise InputRejected(
                "this device is a Home Assistant entity, but no Home Assistant API is configured"
            )
        now = self._clock()
        cid = current_correlation_id() or new_correlation_id()
        expires_at = now + timedelta(seconds=ttl_s if ttl_s is not None else self._settings.default_ttl_s)
        command_id = new_id()
        self._acks[command_id] = asyncio.get_running_loop().create_future()  # before anything is sent
        send_now = isinstance(route, MqttRoute) and self._mqtt is not None and self._mqtt.connected.is_set()
        try:
            created, sent = await self._blocking(
                self._create_and_send,
                device_id,
                command_type,
                dict(payload),
                now,
                cid,
                command_id,
                route if send_now and isinstance(route, MqttRoute) else None,
                expires_at,
            )
        except BaseException:
            self._acks.pop(command_id, None)
            raise
        _LOGGER.info(
            "command accepted",
            extra={"command_id": command_id, "device_id": device_id, "command": command_type},
        )
        self._publish_status(created)
        if sent is not None:
            self._publish_status(sent)
        self._spawn(sent or created, route, expires_at, first_attempt_sent=sent is not None)
        return command_record(sent or created)

    def _create_and_send(
        self,
        device_id: str,
        command_type: str,
        payload: dict[str, Any],
        now: datetime,
        correlation_id: str,
        command_id: str,
        route: MqttRoute | None,
        expires_at: datetime,
    ) -> tuple[DeviceCommand, DeviceCommand | None]:
        """In the store's thread: record the command ``pending`` (committed), then - with the broker
        connected - publish the first attempt and record it ``sent``, in one hand-off to the thread."""
        created = self._store.create_command(
            device_id, command_type, payload, now, correlation_id, command_id, expires_at
        )
        if route is None:
            return created, None
        return created, self._send_attempt(created, route, 1, now, expires_at)

    def _send_attempt(
        self, command: DeviceCommand, route: MqttRoute, attempt: int, now: datetime, expires_at: datetime
    ) -> DeviceCommand:
        """In the store's thread: publish one attempt (QoS 1), then record it ``sent``.

        Publishing from here keeps paho's lock and socket wake-up off the event loop."""
        assert self._mqtt is not None
        message = command_message(
            command.id, command.correlation_id, command.type, command.payload, attempt, now, expires_at
        )
        self._mqtt.publish(route.command_topic, message, qos=1)
        return self._store.update_command_status(command.id, CommandStatus.SENT, now)

    async def get_command(self, command_id: str) -> dict[str, Any] | None:
        command = await self._blocking(self._store.get_command, command_id)
        return None if command is None else command_record(command)

    async def list_commands(self, device_id: str, limit: int) -> list[dict[str, Any]]:
        commands = await self._blocking(self._store.list_commands, device_id, None, limit)
        return [command_record(c) for c in commands]

    # -- driving one command --------------------------------------------------------------------------

    def _spawn(
        self,
        command: DeviceCommand,
        route: CommandRoute,
        expires_at: datetime,
        first_attempt_sent: bool = False,
    ) -> None:
        if command.id not in self._acks:
            self._acks[command.id] = asyncio.get_running_loop().create_future()
        if isinstance(route, MqttRoute):
            self._ack_topics[command.id] = route.ack_topic
        task = asyncio.create_task(
            self._drive(command, route, expires_at, first_attempt_sent), name=f"command-{command.id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drive(
        self, command: DeviceCommand, route: CommandRoute, expires_at: datetime, first_attempt_sent: bool
    ) -> None:
        try:
            if isinstance(route, MqttRoute):
                await self._drive_mqtt(command, route, expires_at, first_attempt_sent)
            else:
                await self._drive_ha(command, route, expires_at)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("command dispatch failed unexpectedly", extra={"command_id": command.id})
        finally:
            self._acks.pop(command.id, None)
            self._ack_topics.pop(command.id, None)

    def _waits(self) -> tuple[float, ...]:
        return (*self._settings.retry_delays_s, self._settings.final_wait_s)

    async def _wait_connected(self, expires_at: datetime) -> bool:
        assert self._mqtt is not None
        if self._mqtt.connected.is_set():
            return True
        remaining = (expires_at - self._clock()).total_seconds()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(self._mqtt.connected.wait(), timeout=remaining)
        except TimeoutError:
            return False
        return True

    async def _drive_mqtt(
        self, command: DeviceCommand, route: MqttRoute, expires_at: datetime, first_attempt_sent: bool
    ) -> None:
        assert self._mqtt is not None
        future = self._acks[command.id]
        for attempt, wait_s in enumerate(self._waits(), start=1):
            if not (attempt == 1 and first_attempt_sent):
                if not await self._wait_connected(expires_at):
                    await self._finish(
                        command, CommandStatus.EXPIRED, "the MQTT broker was unreachable until expiry"
                    )
                    return
                now = self._clock()
                if now >= expires_at:
                    await self._finish(command, CommandStatus.EXPIRED, "expired before it could be sent")
                    return
                command = await self._blocking(self._send_attempt, command, route, attempt, now, expires_at)
                self._publish_status(command)
            timeout = min(wait_s, max(0.0, (expires_at - self._clock()).total_seconds()))
            try:
                ack = await asyncio.wait_for(asyncio.shield(future), timeout=timeout)
            except TimeoutError:
                await self._blocking(
                    self._store.record_command_error,
                    command.id,
                    self._clock(),
                    attempt,
                    f"no acknowledgement within {wait_s:g} s",
                )
                _LOGGER.debug("no ack yet; retrying", extra={"command_id": command.id, "attempt": attempt})
                continue
            if ack.ok:
                await self._finish(command, CommandStatus.ACKED, None)
            else:
                await self._finish(
                    command, CommandStatus.FAILED, ack.message or "the device reported an error"
                )
            return
        await self._finish(
            command, CommandStatus.EXPIRED, f"no acknowledgement after {len(self._waits())} attempts"
        )

    async def _drive_ha(
        self, command: DeviceCommand, route: HomeAssistantRoute, expires_at: datetime
    ) -> None:
        assert self._ha is not None
        for attempt, wait_s in enumerate(self._waits(), start=1):
            now = self._clock()
            if now >= expires_at:
                await self._finish(command, CommandStatus.EXPIRED, "expired before Home Assistant answered")
                return
            command = await self._blocking(
                self._store.update_command_status, command.id, CommandStatus.SENT, now
            )
            self._publish_status(command)
            try:
                await self._ha.call(route, command.type, command.payload, command.correlation_id)
            except HaCallRefused as err:
                await self._finish(command, CommandStatus.FAILED, str(err))
                return
            except Exception as err:  # connection problems and 5xx: retry
                await self._blocking(
                    self._store.record_command_error,
                    command.id,
                    self._clock(),
                    attempt,
                    f"Home Assistant: {err}",
                )
                await asyncio.sleep(wait_s)
                continue
            await self._finish(command, CommandStatus.ACKED, None)
            return
        await self._finish(
            command, CommandStatus.EXPIRED, f"Home Assistant did not answer after {attempt} attempts"
        )

    async def _finish(self, command: DeviceCommand, status: CommandStatus, error: str | None) -> None:
        now = self._clock()
        try:
            if error is not None:
                await self._blocking(
                    self._store.record_command_error, command.id, now, command.attempts, error
                )
            command = await self._blocking(self._store.update_command_status, command.id, status, now, error)
        except StoreError as err:  # e.g. already final after a restart race
            _LOGGER.warning("command status not updated", extra={"command_id": command.id, "error": str(err)})
            return
        extra = {
            "command_id": command.id,
            "device_id": command.device_id,
            "attempts": command.attempts,
            "correlation_id": command.correlation_id,
        }
        if status is CommandStatus.ACKED:
            _LOGGER.info("command acknowledged", extra=extra)
        else:
            _LOGGER.warning(f"command {status.value}: {error}", extra=extra)
        self._publish_status(command)

    def _publish_status(self, command: DeviceCommand) -> None:
        if self._hub is not None:
            self._hub.publish("command_status", command_record(command))
