"""Poison messages and implausible readings through the real broker: counted, dead-lettered, never
stopping ingestion, never coming back after a restart, never moving a device's clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shems_optimizer.adapters.ingest.mappings import TopicBinding
from shems_optimizer.adapters.ingest.plausibility import ReadingGuard
from shems_optimizer.adapters.ingest.refusals import Reason
from shems_optimizer.adapters.store import SqliteConfig, SqliteRepository, TimescaleRepository
from shems_optimizer.app.records.models import Reading

from .helpers import register, running_ingest, wait_for

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

POISON: list[tuple[bytes, str]] = [
    (b"[" * 100_000, Reason.INVALID_JSON),
    (b'{"power_w":1' + b"0" * 400 + b"}", Reason.INVALID_VALUE),
    (b'{"device":[1],"power_w":1}', Reason.INVALID_DEVICE),
    (b'{"device":{"a":1},"power_w":1}', Reason.INVALID_DEVICE),
    (b'{"time":"9999-12-31T23:30:00-01:00","power_w":1}', Reason.INVALID_TIME),
    (b'{"time":"0001-01-01T00:00:00+01:00","power_w":1}', Reason.INVALID_TIME),
    (b'{"time":' + b"1" * 400 + b',"power_w":1}', Reason.INVALID_TIME),
    (b'{"power_w":' + b"9" * 5000 + b"}", Reason.INVALID_JSON),
    # a batch: its good reading is kept, the 400-digit one refused
    (
        b'{"readings":[{"time":%d,"power_w":3},{"time":%d,"power_w":1%s}]}'
        % (int(BASE.timestamp()), int(BASE.timestamp()) + 1, b"0" * 400),
        Reason.INVALID_VALUE,
    ),
]


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqliteRepository]:
    repo = SqliteRepository.open(SqliteConfig(tmp_path / "store.sqlite3"))
    yield repo
    repo.close()


def _good(second: int, **values: float) -> bytes:
    return json.dumps({"time": (BASE + timedelta(seconds=second)).isoformat(), **values}).encode()


def _publish(client: Any, topic: str, payloads: list[bytes]) -> None:
    for info in [client.publish(topic, payload, qos=1) for payload in payloads]:
        info.wait_for_publish(timeout=10)


def _collector(client: Any, topic: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    subscribed = threading.Event()
    client.on_message = lambda _c, _u, msg: received.append(json.loads(msg.payload))
    client.on_subscribe = lambda *_args: subscribed.set()
    client.subscribe(topic, qos=0)
    assert subscribed.wait(5), "dead-letter subscription not confirmed"
    return received


def test_poison_messages_are_refused_dead_lettered_and_do_not_return_after_restart(
    sqlite: SqliteRepository, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any], tmp_path: Path
) -> None:
    register(sqlite, "meter")

    def bindings(prefix: str) -> list[TopicBinding]:
        return [TopicBinding(f"{prefix}/meter", device_id="meter")]

    publisher = mqtt_client_factory()
    with running_ingest(sqlite, mqtt_broker, tmp_path / "spool", bindings, dead_letters=True) as run:
        prefix = run.prefix
        dead_letters = _collector(mqtt_client_factory(), f"{prefix}/dead_letter")
        _publish(publisher, f"{prefix}/meter", [payload for payload, _ in POISON])
        _publish(publisher, f"{prefix}/meter", [_good(10 + i, power_w=100 + i) for i in range(20)])
        wait_for(lambda: run.pipeline.counts().readings_stored == 21, 15, "the 21 good readings stored")
        wait_for(lambda: len(dead_letters) == len(POISON), 5, "one dead letter per poison message")
        refused = run.pipeline.refusals.counts()
        assert run.ingester.alive()
    expected: dict[tuple[str, str], int] = {}
    for _, reason in POISON:
        expected[("meter", reason)] = expected.get(("meter", reason), 0) + 1
    assert refused == expected
    assert {d["reason"] for d in dead_letters} == {reason for _, reason in POISON}
    assert all(d["topic"] == f"{prefix}/meter" and d["device"] == "meter" for d in dead_letters)
    assert all(len(d["payload_excerpt"]) <= 200 and d["detail"] for d in dead_letters)
    stored = sqlite.readings("meter", BASE, BASE + timedelta(minutes=1))
    assert [r.power_w for r in stored] == [3.0] + [100.0 + i for i in range(20)]

    # Same client id, same persistent session: nothing is re-delivered, new readings flow at once.
    with running_ingest(sqlite, mqtt_broker, tmp_path / "spool", bindings, prefix=prefix) as again:
        _publish(publisher, f"{prefix}/meter", [_good(40 + i, power_w=1) for i in range(5)])
        wait_for(lambda: again.pipeline.counts().readings_stored == 5, 10, "readings after the restart")
        counts = again.pipeline.counts()
    assert (counts.messages, again.pipeline.refusals.total()) == (5, 0)


def test_implausible_readings_are_refused_and_never_move_the_device_clock(
    sqlite: SqliteRepository, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any], tmp_path: Path
) -> None:
    register(sqlite, "meter", "neighbour")

    def bindings(prefix: str) -> list[TopicBinding]:
        return [TopicBinding(f"{prefix}/meter", device_id="meter")]

    with running_ingest(sqlite, mqtt_broker, tmp_path / "spool", bindings) as run:
        _publish(
            mqtt_client_factory(),
            f"{run.prefix}/meter",
            [
                _good(0, power_w=100, energy_kwh=10),
                b'{"time":"2100-01-01T00:00:00Z","power_w":7}',
                _good(1, power_w=101, energy_kwh=11),
                b'{"time":"1999-12-31T23:59:59Z","power_w":7}',
                json.dumps(
                    {"time": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(), "power_w": 7}
                ).encode(),
                _good(2, power_w=2_000_000),
                _good(3, power_w=102, energy_kwh=5),
                json.dumps({"device": "neighbour", "time": BASE.isoformat(), "power_w": 7}).encode(),
                _good(5, power_w=103, energy_kwh=12),
            ],
        )
        wait_for(lambda: run.pipeline.counts().readings_stored == 3, 10, "the three good readings stored")
        wait_for(lambda: run.pipeline.refusals.total() == 6, 5, "six refusals counted")
        refused = run.pipeline.refusals.counts()
    assert refused == {
        ("meter", Reason.TIME_IN_FUTURE): 2,
        ("meter", Reason.TIME_TOO_OLD): 1,
        ("meter", Reason.POWER_IMPLAUSIBLE): 1,
        ("meter", Reason.ENERGY_DECREASED): 1,
        ("meter", Reason.DEVICE_MISMATCH): 1,
    }
    assert [r.power_w for r in sqlite.readings("meter", BASE, BASE + timedelta(minutes=1))] == [100, 101, 103]
    assert sqlite.latest_readings(["meter"])["meter"].time == BASE + timedelta(seconds=5)
    assert sqlite.latest_readings(["neighbour"]) == {}


def test_energy_counter_reset_is_accepted_once_confirmed() -> None:
    guard = ReadingGuard()
    values = [100.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    outcomes = [
        guard.refuse_energy(Reading("m", BASE + timedelta(seconds=i), energy_kwh=v))
        for i, v in enumerate(values)
    ]
    reasons = [o[0] if o else None for o in outcomes]
    assert reasons == [
        None,
        Reason.ENERGY_DECREASED,
        Reason.ENERGY_DECREASED,
        Reason.ENERGY_DECREASED,
        None,
        None,
    ]


def test_new_device_readings_while_postgres_is_down_are_spooled_and_replayed(
    timescale: TimescaleRepository,
    mqtt_broker: Any,
    mqtt_client_factory: Callable[..., Any],
    services: Any,
    tmp_path: Path,
) -> None:
    register(timescale, "meter")

    def bindings(prefix: str) -> list[TopicBinding]:
        return [TopicBinding(f"{prefix}/#")]

    with running_ingest(
        timescale, mqtt_broker, tmp_path / "spool", bindings, known_devices_refresh_s=0.0
    ) as run:
        register(timescale, "newcomer")  # registered after the pipeline read the device list
        publisher = mqtt_client_factory()
        services.stop_postgres()
        try:
            _publish(
                publisher,
                f"{run.prefix}/newcomer",
                [
                    json.dumps(
                        {
                            "device": "newcomer",
                            "readings": [
                                {
                                    "time": (BASE + timedelta(seconds=10 * i + j)).timestamp(),
                                    "power_w": 10 * i + j,
                                }
                                for j in range(10)
                            ],
                        }
                    ).encode()
                    for i in range(3)
                ],
            )
            _publish(
                publisher, f"{run.prefix}/ghost", [json.dumps({"device": "ghost", "power_w": 1}).encode()]
            )
            wait_for(lambda: run.pipeline.counts().readings_spooled == 31, 20, "readings spooled while down")
        finally:
            services.start_postgres()
        wait_for(lambda: run.pipeline.spooled_segments == 0, 30, "spool replayed")
        counts = run.pipeline.counts()
        refused = run.pipeline.refusals.counts()
    stored = timescale.readings("newcomer", BASE, BASE + timedelta(minutes=5))
    assert [r.power_w for r in stored] == [float(i) for i in range(30)]
    assert counts.readings_stored == 30 and counts.unknown_device == 1
    assert refused == {("ghost", Reason.UNKNOWN_DEVICE): 1}
