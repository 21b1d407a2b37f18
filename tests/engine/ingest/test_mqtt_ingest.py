"""MQTT ingestion end to end: real Mosquitto, both store back-ends."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shems_optimizer.adapters.ingest.mappings import TopicBinding
from shems_optimizer.app.records.models import Reading
from shems_optimizer.app.records.repository import Repository

from .helpers import register, running_ingest, wait_for

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _publish_all(client: Any, messages: list[tuple[str, bytes]]) -> None:
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)


def test_shems_and_firmware_payloads_are_stored(
    repo: Repository, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any], tmp_path: Path
) -> None:
    register(repo, "meter", "plug")

    def bindings(prefix: str) -> list[TopicBinding]:
        return [
            TopicBinding(f"{prefix}/shems/#"),
            TopicBinding(f"{prefix}/shelly/+/status/switch:0", "shelly_gen2", device_topic_level=2),
        ]

    with running_ingest(repo, mqtt_broker, tmp_path / "spool", bindings, touch_interval_s=0.1) as run:
        batch = {
            "device": "meter",
            "readings": [
                {"time": (T0 + timedelta(seconds=10 * i)).isoformat(), "power_w": 100 + i} for i in range(50)
            ],
        }
        shelly = {"id": 0, "apower": 12.5, "voltage": 230.0, "current": 0.1, "aenergy": {"total": 1500.0}}
        publisher = mqtt_client_factory()
        _publish_all(
            publisher,
            [
                (f"{run.prefix}/shems/meter", json.dumps(batch).encode()),
                (f"{run.prefix}/shelly/plug/status/switch:0", json.dumps(shelly).encode()),
            ],
        )
        wait_for(lambda: run.pipeline.counts().readings_stored == 51, 10, "51 readings stored")
        wait_for(lambda: (repo.get_device("meter") or Any).last_seen is not None, 5, "last_seen update")
    stored = repo.readings("meter", T0, T0 + timedelta(hours=1))
    assert [r.power_w for r in stored] == [100.0 + i for i in range(50)]
    plug = repo.latest_readings(["plug"])["plug"]
    assert (plug.power_w, plug.energy_kwh, plug.voltage_v) == (12.5, 1.5, 230.0)
    meter = repo.get_device("meter")
    assert meter is not None and meter.last_seen == T0 + timedelta(seconds=490)


def test_bad_input_is_counted_logged_with_topic_and_skipped(
    repo: Repository,
    mqtt_broker: Any,
    mqtt_client_factory: Callable[..., Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    register(repo, "meter")

    def reading(second: int, power: float) -> dict[str, Any]:
        return {"time": (T0 + timedelta(seconds=second)).isoformat(), "power_w": power}

    with running_ingest(repo, mqtt_broker, tmp_path / "spool", lambda p: [TopicBinding(f"{p}/#")]) as run:
        topic = f"{run.prefix}/meter"
        stream = [
            (topic, json.dumps({"device": "meter", "readings": [reading(0, 1), reading(10, 2)]}).encode()),
            (topic, b"{this is not json"),  # malformed message
            (
                f"{run.prefix}/ghost",
                json.dumps({"device": "ghost", **reading(20, 3)}).encode(),
            ),  # unknown device
            (topic, json.dumps({"device": "meter", **reading(10, 2)}).encode()),  # duplicate of 10 s
            (topic, json.dumps({"device": "meter", **reading(5, 9)}).encode()),  # out of order
            (
                topic,
                json.dumps(
                    {"device": "meter", "readings": [reading(30, 4), {"time": 1, "power_w": "x"}]}
                ).encode(),
            ),
            (topic, json.dumps({"device": "meter", **reading(40, 5)}).encode()),  # the stream keeps flowing
        ]
        publisher = mqtt_client_factory()
        with caplog.at_level(logging.WARNING, logger="shems_optimizer.adapters.ingest"):
            _publish_all(publisher, stream)
            wait_for(lambda: run.pipeline.counts().messages == len(stream), 10, "all messages handled")
            wait_for(lambda: run.pipeline.counts().readings_stored == 4, 10, "4 good readings stored")
        counts = run.pipeline.counts()
    assert (counts.malformed_messages, counts.malformed_readings) == (1, 1)
    assert (counts.unknown_device, counts.duplicates, counts.out_of_order) == (1, 1, 1)
    assert [r.power_w for r in repo.readings("meter", T0, T0 + timedelta(minutes=1))] == [1.0, 2.0, 4.0, 5.0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for expected in (
        "refused (invalid_json): payload is not valid JSON",
        "unknown device 'ghost'",
        "duplicate reading",
        "out-of-order reading",
        "readings[1].power_w: 'x' is not a number",
    ):
        assert any(expected in w for w in warnings), expected
    assert any(f"{run.prefix}/ghost" in w for w in warnings)
    assert all(run.prefix in w for w in warnings if "telemetry on" in w)


def test_late_readings_can_be_stored_instead_of_skipped(
    repo: Repository, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any], tmp_path: Path
) -> None:
    register(repo, "meter")
    with running_ingest(
        repo, mqtt_broker, tmp_path / "spool", lambda p: [TopicBinding(f"{p}/#")], late_readings="store"
    ) as run:
        late = [
            {"device": "meter", "time": (T0 + timedelta(seconds=s)).isoformat(), "power_w": s}
            for s in (20, 10)
        ]
        _publish_all(mqtt_client_factory(), [(f"{run.prefix}/m", json.dumps(p).encode()) for p in late])
        wait_for(lambda: run.pipeline.counts().readings_stored == 2, 10, "both readings stored")
        assert run.pipeline.counts().out_of_order == 1
    assert [r.power_w for r in repo.readings("meter", T0, T0 + timedelta(minutes=1))] == [10.0, 20.0]
    assert repo.readings("meter", T0, T0 + timedelta(minutes=1))[0] == Reading(
        "meter", T0 + timedelta(seconds=10), 10.0
    )
