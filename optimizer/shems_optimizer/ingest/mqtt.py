"""MQTT telemetry ingester (paho-mqtt 2, MQTT v5).

Subscribes to the configured topic bindings with QoS 1 on a **persistent session** (``clean_start``
false, a long session expiry), so the broker keeps messages for SHEMS while it is disconnected or
restarting. Acknowledgements are manual: a message's PUBACK is sent only once its readings are in the
store or the disk spool (see :mod:`shems_optimizer.ingest.pipeline`); paho reconnects by itself after a
broker restart and re-subscribes in ``on_connect``.

Broker settings matter for throughput: Mosquitto's defaults (``max_inflight_messages 20``,
``max_queued_messages 1000``) bound how many unacknowledged messages are in flight and silently drop a
persistent session's queue beyond 1,000 messages; docs/telemetry.md gives the settings used for the
benchmark.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from shems_optimizer.ingest.mappings import BUILTIN_MAPPINGS, SHEMS_FORMAT, TopicBinding
from shems_optimizer.ingest.payload import FieldMapping, PayloadError, parse_mapped, parse_shems
from shems_optimizer.ingest.pipeline import TelemetryPipeline
from shems_optimizer.store.models import Device

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttConnection:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = "shems-ingest"
    keepalive_s: int = 60
    # How long the broker keeps the session (subscriptions + queued QoS 1 messages) while we are away.
    session_expiry_s: int = 7 * 24 * 3600
    tls: bool = False
    # MQTT v5 Receive Maximum: how many unacknowledged QoS 1 messages the broker may have in flight to us.
    # Without a bound, a broker with unlimited in-flight messages pushes its whole backlog into the
    # connection and the PINGRESP queues behind it, so the keep-alive times out under load.
    receive_maximum: int = 1000


def bindings_for_devices(devices: Sequence[Device]) -> list[TopicBinding]:
    """One binding per registered device topic; the payload format is the device attribute
    ``payload_format`` (default ``shems``) and the device is the registered one."""
    bindings = []
    for device in devices:
        payload_format = str(device.attributes.get("payload_format", SHEMS_FORMAT))
        timezone = str(device.attributes.get("timezone", "UTC"))
        for topic in device.mqtt_topics:
            bindings.append(TopicBinding(topic, payload_format, device_id=device.id, timezone=timezone))
    return bindings


class MqttIngester:
    def __init__(
        self,
        connection: MqttConnection,
        bindings: Sequence[TopicBinding],
        pipeline: TelemetryPipeline,
        mappings: Mapping[str, FieldMapping] | None = None,
    ) -> None:
        self._connection = connection
        self._bindings = list(bindings)
        self._pipeline = pipeline
        self._mappings = {**BUILTIN_MAPPINGS, **(mappings or {})}
        for binding in self._bindings:
            if binding.payload_format != SHEMS_FORMAT and binding.payload_format not in self._mappings:
                raise PayloadError(
                    f"topic {binding.topic!r}: unknown payload format {binding.payload_format!r} "
                    f"(known: {', '.join([SHEMS_FORMAT, *sorted(self._mappings)])})"
                )
        self._zones = {b.timezone: ZoneInfo(b.timezone) for b in self._bindings}
        self._route_cache: dict[str, TopicBinding | None] = {}
        self.connected = threading.Event()
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        c = self._connection
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=c.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if c.username is not None:
            client.username_pw_set(c.username, c.password)
        if c.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (in the background, retrying) and start the network loop."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self._connection.session_expiry_s
        properties.ReceiveMaximum = self._connection.receive_maximum
        self._client.connect_async(
            self._connection.host,
            self._connection.port,
            keepalive=self._connection.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    # -- callbacks (paho network thread) -------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            _LOG.error(
                "MQTT connection to %s:%s refused: %s", self._connection.host, self._connection.port, reason
            )
            return
        if self._bindings:
            client.subscribe([(b.topic, SubscribeOptions(qos=1)) for b in self._bindings])
        _LOG.info(
            "MQTT connected to %s:%s, %d subscriptions",
            self._connection.host,
            self._connection.port,
            len(self._bindings),
        )
        self.connected.set()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self.connected.clear()
        _LOG.warning("MQTT disconnected (%s); reconnecting", reason)

    def _route(self, topic: str) -> TopicBinding | None:
        try:
            return self._route_cache[topic]
        except KeyError:
            pass
        found = next((b for b in self._bindings if mqtt.topic_matches_sub(b.topic, topic)), None)
        if len(self._route_cache) < 100_000:
            self._route_cache[topic] = found
        return found

    def _on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        topic = message.topic
        ack = functools.partial(client.ack, message.mid, message.qos)
        binding = self._route(topic)
        if binding is None:
            self._pipeline.reject(topic, "no topic binding matches this topic", ack)
            return
        received_at = datetime.now(UTC)
        try:
            if binding.payload_format == SHEMS_FORMAT:
                result = parse_shems(message.payload, received_at, binding.device_for(topic))
            else:
                result = parse_mapped(
                    message.payload,
                    self._mappings[binding.payload_format],
                    received_at,
                    binding.device_for(topic),
                    self._zones[binding.timezone],
                )
        except PayloadError as err:
            self._pipeline.reject(topic, str(err), ack)
            return
        self._pipeline.submit(topic, result.readings, result.errors, ack)
