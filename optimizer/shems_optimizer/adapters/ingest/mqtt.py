"""MQTT telemetry ingester (paho-mqtt 2, MQTT v5).

Subscribes to the configured topic bindings with QoS 1 on a **persistent session** (``clean_start``
false, a long session expiry), so the broker keeps messages for SHEMS while it is disconnected or
restarting. Acknowledgements are manual: a message's PUBACK is sent only once its readings are in the
store or the disk spool (see :mod:`shems_optimizer.adapters.ingest.pipeline`); paho reconnects by itself after
a broker restart and re-subscribes in ``on_connect``.

No message can stop ingestion: each is handled inside a catch-all (paho's network thread would end
on any exception a callback raises, and with it all telemetry). Refused messages and readings are
counted per device and reason, published (rate-limited) as dead letters on ``dead_letter_topic``, and
acknowledged, so the broker does not re-deliver a poison message after a restart.

Broker settings matter for throughput: Mosquitto's defaults (``max_inflight_messages 20``,
``max_queued_messages 1000``) bound how many unacknowledged messages are in flight and silently drop a
persistent session's queue beyond 1,000 messages; docs/telemetry.md gives the settings used for the
benchmark.
"""

from __future__ import annotations

import functools
import json
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

from shems_optimizer.adapters.ingest.mappings import BUILTIN_MAPPINGS, SHEMS_FORMAT, TopicBinding
from shems_optimizer.adapters.ingest.payload import FieldMapping, PayloadError, parse_mapped, parse_shems
from shems_optimizer.adapters.ingest.pipeline import TelemetryPipeline
from shems_optimizer.adapters.ingest.refusals import UNKNOWN_DEVICE, Reason, Refusal, excerpt
from shems_optimizer.app.records.models import Device

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
        dead_letter_topic: str | None = None,
    ) -> None:
        self._connection = connection
        self._dead_letter_topic = dead_letter_topic
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
        self.internal_errors = 0
        self._started = False
        self._client = self._make_client()
        if dead_letter_topic is not None:
            pipeline.refusals.set_sink(self._publish_dead_letter)

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
        self._started = True

    def stop(self) -> None:
        self._started = False
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def alive(self) -> bool:
        """The network thread runs (it receives, acknowledges and reconnects)."""
        thread = self._client._thread  # paho keeps its loop thread here; no public accessor
        return self._started and thread is not None and thread.is_alive()

    def _publish_dead_letter(self, refusal: Refusal) -> None:
        if self._dead_letter_topic is None or not self.connected.is_set():
            return
        body = {
            "topic": refusal.topic,
            "device": refusal.device,
            "reason": refusal.reason,
            "detail": refusal.detail,
            "payload_excerpt": refusal.excerpt,
            "at": datetime.now(UTC).isoformat(),
        }
        self._client.publish(self._dead_letter_topic, json.dumps(body), qos=0)

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
        ack = functools.partial(client.ack, message.mid, message.qos)
        try:
            self._handle(message, ack)
        except Exception as err:  # anything unforeseen: count it, acknowledge it, keep the thread alive
            self.internal_errors += 1
            _LOG.exception("telemetry on %s: unexpected error", message.topic[:120])
            try:
                refusal = Refusal(
                    message.topic,
                    UNKNOWN_DEVICE,
                    Reason.INTERNAL_ERROR,
                    f"{type(err).__name__}: {err}"[:200],
                    excerpt(message.payload),
                )
                self._pipeline.reject(refusal, ack)
            except Exception:
                _LOG.exception("telemetry: cannot even count a refused message")

    def _handle(self, message: mqtt.MQTTMessage, ack: functools.partial[Any]) -> None:
        topic = message.topic
        if topic == self._dead_letter_topic:
            ack()  # our own dead letters, under a wildcard subscription: never telemetry
            return
        binding = self._route(topic)
        if binding is None:
            refusal = Refusal(
                topic, UNKNOWN_DEVICE, Reason.NO_BINDING, "no topic binding matches", excerpt(message.payload)
            )
            self._pipeline.reject(refusal, ack)
            return
        received_at = datetime.now(UTC)
        bound = binding.device_for(topic)
        try:
            if binding.payload_format == SHEMS_FORMAT:
                result = parse_shems(message.payload, received_at, bound)
            else:
                result = parse_mapped(
                    message.payload,
                    self._mappings[binding.payload_format],
                    received_at,
                    bound,
                    self._zones[binding.timezone],
                )
        except PayloadError as err:
            device = bound or err.device or UNKNOWN_DEVICE
            self._pipeline.reject(Refusal(topic, device, err.reason, str(err), excerpt(message.payload)), ack)
            return
        shown = excerpt(message.payload)
        refused = [
            Refusal(topic, bound or p.device or UNKNOWN_DEVICE, p.reason, str(p), shown)
            for p in result.problems
        ]
        readings = result.readings
        if binding.device_id is not None and any(r.device_id != binding.device_id for r in readings):
            # The topic belongs to one device: a reading naming another is refused, never stored for it.
            kept = []
            for reading in readings:
                if reading.device_id == binding.device_id:
                    kept.append(reading)
                else:
                    detail = (
                        f"reading names device {reading.device_id[:40]!r}, the topic is {binding.device_id!r}"
                    )
                    refused.append(Refusal(topic, binding.device_id, Reason.DEVICE_MISMATCH, detail, shown))
            readings = kept
        self._pipeline.submit(topic, readings, refused, ack)
