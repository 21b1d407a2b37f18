"""Reliability with the real services: PostgreSQL and Mosquitto stopped and restarted mid-run.

Counts prove the outcome: every reading the broker acknowledged to the publisher is in TimescaleDB
exactly once (the unique (time, device) index makes a duplicate row impossible, and the row count equals
the number of distinct readings published).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from shems_optimizer.adapters.ingest.mappings import TopicBinding
from shems_optimizer.adapters.store import TimescaleRepository
from shems_optimizer.app.records.models import Reading

from .helpers import register, running_ingest, wait_for

T0 = datetime(2026, 3, 1, tzinfo=UTC)
READINGS_PER_MESSAGE = 20


def _message(device: str, index: int) -> bytes:
    start = index * READINGS_PER_MESSAGE
    readings = [
        {"time": (T0 + timedelta(seconds=start + i)).timestamp(), "power_w": float(start + i)}
        for i in range(READINGS_PER_MESSAGE)
    ]
    return json.dumps({"device": device, "readings": readings}).encode()


class Publisher:
    """Publishes numbered messages one at a time, QoS 1, retrying until the broker acknowledges each."""

    def __init__(self, broker: Any, topic: str, device: str) -> None:
        self.topic, self.device = topic, device
        self.acked = 0
        self._stop = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        self._client.connect(broker.host, broker.port, keepalive=10)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            info = self._client.publish(self.topic, _message(self.device, index), qos=1)
            try:
                info.wait_for_publish(timeout=2)
                published = info.is_published()
            except (RuntimeError, ValueError):
                published = False
                time.sleep(0.1)  # not connected: a real device would retry the same message
            if published:
                index += 1
                self.acked = index
                time.sleep(0.01)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(10)
        self._client.disconnect()
        self._client.loop_stop()
        return self.acked * READINGS_PER_MESSAGE


def _exactly_once(repo: TimescaleRepository, device: str, published: int) -> None:
    stored = repo.readings(device, T0, T0 + timedelta(days=1))
    assert len(stored) == published
    assert [r.power_w for r in stored] == [float(i) for i in range(published)]


def test_postgres_stopped_mid_ingestion_every_event_stored_once(
    timescale: TimescaleRepository, mqtt_broker: Any, services: Any, tmp_path: Path
) -> None:
    register(timescale, "meter")
    with running_ingest(
        timescale, mqtt_broker, tmp_path / "spool", lambda p: [TopicBinding(f"{p}/#")]
    ) as run:
        publisher = Publisher(mqtt_broker, f"{run.prefix}/meter", "meter")
        publisher.start()
        wait_for(lambda: run.pipeline.counts().readings_stored >= 200, 15, "first readings stored")
        services.stop_postgres()
        try:
            wait_for(lambda: run.pipeline.counts().readings_spooled >= 200, 15, "readings spooled while down")
        finally:
            services.start_postgres()
        spooled = run.pipeline.counts().readings_spooled
        wait_for(lambda: run.pipeline.counts().readings_stored >= spooled + 400, 30, "replay and new writes")
        published = publisher.stop()
        wait_for(
            lambda: run.pipeline.counts().readings_stored >= published, 30, "all published readings stored"
        )
        wait_for(lambda: run.pipeline.spooled_segments == 0, 10, "spool emptied")
        counts = run.pipeline.counts()
    assert counts.store_failures >= 1 and counts.segments_replayed >= 1
    assert counts.malformed_messages == counts.unknown_device == 0
    _exactly_once(timescale, "meter", published)


def test_mosquitto_restarted_mid_run_loses_nothing(
    timescale: TimescaleRepository, mqtt_broker: Any, services: Any, tmp_path: Path
) -> None:
    register(timescale, "meter")
    with running_ingest(
        timescale, mqtt_broker, tmp_path / "spool", lambda p: [TopicBinding(f"{p}/#")]
    ) as run:
        publisher = Publisher(mqtt_broker, f"{run.prefix}/meter", "meter")
        publisher.start()
        wait_for(lambda: run.pipeline.counts().readings_stored >= 200, 15, "first readings stored")
        services.stop_mosquitto()
        try:
            wait_for(lambda: not run.ingester.connected.is_set(), 10, "ingester noticing the broker is gone")
            time.sleep(0.5)
        finally:
            services.start_mosquitto()
        wait_for(run.ingester.connected.is_set, 20, "ingester reconnecting")
        before = publisher.acked
        wait_for(lambda: publisher.acked >= before + 20, 20, "publishing resumed")
        published = publisher.stop()
        wait_for(
            lambda: run.pipeline.counts().readings_stored >= published, 30, "all published readings stored"
        )
        counts = run.pipeline.counts()
    assert counts.malformed_messages == counts.unknown_device == 0
    _exactly_once(timescale, "meter", published)


def test_ingester_down_while_devices_publish_gets_the_backlog_from_its_session(
    timescale: TimescaleRepository, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any], tmp_path: Path
) -> None:
    """Persistent session + QoS 1: messages published while SHEMS is stopped arrive when it starts."""
    register(timescale, "meter")
    client_id = f"shems-{uuid.uuid4().hex[:8]}"
    bindings: Callable[[str], list[TopicBinding]] = lambda p: [TopicBinding("backlog-meter/#")]  # noqa: E731
    from shems_optimizer.adapters.ingest.mqtt import MqttConnection, MqttIngester
    from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline

    def ingester(pipeline: TelemetryPipeline) -> MqttIngester:
        ing = MqttIngester(
            MqttConnection(mqtt_broker.host, mqtt_broker.port, client_id=client_id), bindings(""), pipeline
        )
        ing.start()
        assert ing.connected.wait(10)
        return ing

    pipeline = TelemetryPipeline(
        timescale, PipelineConfig(spool_dir=tmp_path / "spool", flush_interval_s=0.05)
    )
    pipeline.start()
    first = ingester(pipeline)
    time.sleep(0.3)
    first.stop()
    pipeline.stop()
    publisher = mqtt_client_factory()
    infos = [publisher.publish("backlog-meter/x", _message("meter", i), qos=1) for i in range(30)]
    for info in infos:
        info.wait_for_publish(timeout=10)
    pipeline = TelemetryPipeline(
        timescale, PipelineConfig(spool_dir=tmp_path / "spool", flush_interval_s=0.05)
    )
    pipeline.start()
    second = ingester(pipeline)
    try:
        wait_for(lambda: pipeline.counts().readings_stored == 30 * READINGS_PER_MESSAGE, 15, "backlog stored")
    finally:
        second.stop()
        pipeline.stop()
    _exactly_once(timescale, "meter", 30 * READINGS_PER_MESSAGE)


def test_acknowledged_readings_survive_a_postgres_crash(
    timescale: TimescaleRepository, timescale_dsn: str, services: Any, tmp_path: Path
) -> None:
    """A message is acknowledged once its readings are committed; a commit must then survive the server
    crashing at once (``pg_ctl -m immediate``), even when the server runs with ``synchronous_commit =
    off`` (the test environment's, a common tuning), which lets a commit return before its WAL is
    written: such readings would be acknowledged to the broker and gone after crash recovery."""
    from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline

    register(timescale, "meter")
    with psycopg.connect(timescale_dsn) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)  # the server's default
    pipeline = TelemetryPipeline(
        timescale, PipelineConfig(spool_dir=tmp_path / "spool", flush_interval_s=0.02, retry_interval_s=0.2)
    )
    acked = [0]
    lock = threading.Lock()

    def ack() -> None:
        with lock:
            acked[0] += 1

    pipeline.start()
    messages = 0
    try:
        for _round in range(5):
            for _ in range(20):  # one message a few ms apart: many small commits, as meters make them
                start = messages * READINGS_PER_MESSAGE
                readings = [
                    Reading("meter", T0 + timedelta(seconds=start + i), float(start + i))
                    for i in range(READINGS_PER_MESSAGE)
                ]
                pipeline.submit("meter", readings, ack=ack)
                messages += 1
                time.sleep(0.002)
            wait_for(lambda: acked[0] == messages, 15, "every message acknowledged")  # noqa: B023
            services.crash_postgres()  # right after the acknowledgements
            services.start_postgres()
            wait_for(lambda: pipeline.is_idle(), 30, "pipeline idle after the restart")
    finally:
        pipeline.stop()
    assert pipeline.counts().readings_stored == messages * READINGS_PER_MESSAGE
    _exactly_once(timescale, "meter", messages * READINGS_PER_MESSAGE)
