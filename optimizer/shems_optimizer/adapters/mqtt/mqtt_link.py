"""One paho-mqtt client for the service, its network loop in paho's thread, bridged to asyncio.

Handlers registered with :meth:`MqttLink.subscribe` run in the event loop, never in paho's thread.
The session is persistent (MQTT 5, ``clean_start=False`` with a session expiry) so acknowledgements
sent by devices while the service was briefly disconnected are delivered when it reconnects; the
client reconnects by itself with a bounded back-off. :attr:`connected` tells senders when they may
publish; they hold their messages while it is cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shems_optimizer.app.config import MqttConfig

_LOGGER = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
SESSION_EXPIRY_S = 24 * 3600


class MqttLink:
    def __init__(self, config: MqttConfig, client_id: str | None = None) -> None:
        self.config = config
        self._client_id = client_id or config.client_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handlers: dict[str, MessageHandler] = {}
        self._on_connect: list[Callable[[], None]] = []
        self._client: Any = None
        self.connected = asyncio.Event()
        self.ever_connected = False
        self._was_connected = False

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> None:
        """Deliver messages matching ``topic_filter`` to ``handler`` (in the event loop), QoS 1."""
        self._handlers[topic_filter] = handler
        if self._client is not None:
            self._client.message_callback_add(topic_filter, self._bridge(handler))
            if self.connected.is_set():
                self._client.subscribe(topic_filter, qos=1)

    def on_connect(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` in the event loop after every (re)connection."""
        self._on_connect.append(callback)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> Any:
        """Hand a message to paho (thread-safe). Returns paho's MQTTMessageInfo."""
        if self._client is None:
            raise RuntimeError("the MQTT link is not started")
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self._client_id, protocol=mqtt.MQTTv5)
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.on_connect = self._handle_connect
        client.on_socket_open = _no_delay
        client.on_disconnect = self._handle_disconnect
        for topic_filter, handler in self._handlers.items():
            client.message_callback_add(topic_filter, self._bridge(handler))
        self._client = client
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        # connect_async never blocks or raises for an absent broker: the loop keeps retrying.
        client.connect_async(
            self.config.host, self.config.port, keepalive=30, clean_start=False, properties=props
        )
        client.loop_start()

    def alive(self) -> bool:
        """The network thread runs (it reconnects by itself; a dead one never comes back)."""
        client = self._client
        thread = client._thread if client is not None else None  # paho has no public accessor
        return thread is not None and thread.is_alive()

    def health(self) -> tuple[bool, str]:
        if not self.alive():
            return False, "the MQTT link's network thread is not running"
        return (True, "connected") if self.connected.is_set() else (False, "broker disconnected")

    async def restart(self) -> None:
        """A fresh client after the network thread died; handlers and subscriptions are kept."""
        await self.stop()
        await self.start()

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self.connected.clear()
        await asyncio.get_running_loop().run_in_executor(None, _stop_client, client)

    def _bridge(self, handler: MessageHandler) -> Callable[[Any, Any, Any], None]:
        def on_message(_client: Any, _userdata: Any, msg: Any) -> None:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(_safe_call, handler, msg.topic, msg.payload)

        return on_message

    def _handle_connect(
        self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        if getattr(reason_code, "is_failure", False):
            _LOGGER.warning("MQTT broker refused the connection", extra={"reason": str(reason_code)})
            return
        for topic_filter in self._handlers:
            client.subscribe(topic_filter, qos=1)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._connected_in_loop)

    def _connected_in_loop(self) -> None:
        level = logging.INFO if not self._was_connected else logging.WARNING
        _LOGGER.log(level, "MQTT connected", extra={"host": self.config.host, "port": self.config.port})
        self._was_connected = True
        self.ever_connected = True
        self.connected.set()
        for callback in self._on_connect:
            _safe_call(callback)

    def _handle_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._disconnected_in_loop, str(reason_code))

    def _disconnected_in_loop(self, reason: str) -> None:
        if self.connected.is_set():
            _LOGGER.warning(
                "MQTT connection lost; holding messages until it is back", extra={"reason": reason}
            )
        self.connected.clear()


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """Commands and acks are tiny: send them at once rather than let Nagle wait for a delayed ACK
    (~40 ms per hop on Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _stop_client(client: Any) -> None:
    client.disconnect()
    client.loop_stop()


def _safe_call(func: Callable[..., None], *args: Any) -> None:
    try:
        func(*args)
    except Exception:
        _LOGGER.exception("MQTT message handler failed")
