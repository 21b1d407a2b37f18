"""Property: whatever arrives on a telemetry topic, good readings sent afterwards are all stored.

Random and adversarial payloads (raw bytes, arbitrary JSON, reading-shaped objects with hostile
values, deep nesting, numbers with thousands of digits, year-edge times) are published through the
real Mosquitto on a device's topic, each followed by a good reading of another device. Every message
must be accounted for (stored, refused or skipped as duplicate/late), the ingester must stay alive, and
every good reading must be in the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shems_optimizer.adapters.ingest.mappings import TopicBinding
from shems_optimizer.adapters.store import SqliteConfig, SqliteRepository

from .helpers import register, running_ingest, wait_for

EXAMPLES = 300
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

_huge_digits = st.integers(min_value=300, max_value=6000).map(lambda n: "9" * n)
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: json.dumps(f)),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    _huge_digits,
    st.sampled_from(["1e999", "-1e999", "1e308", "-0", "0.0", "1000001", "5e6"]),
)
_times = st.one_of(
    _numbers,
    st.sampled_from(
        [
            '"9999-12-31T23:30:00-01:00"',
            '"0001-01-01T00:00:00+01:00"',
            '"2100-01-01T00:00:00Z"',
            '"1999-12-31T23:59:59Z"',
            '"2026-02-30T00:00:00Z"',
            '"now"',
            "null",
            "[]",
            "{}",
        ]
    ),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: json.dumps(d.isoformat())),
)
_devices = st.one_of(
    st.just('"fuzz"'),
    st.just('"good"'),
    st.text(max_size=200).map(json.dumps),
    st.sampled_from(["[1]", '{"a":1}', "1", "null", "true", '""', '"a\\u0000b"']),
)
_keys = st.sampled_from(["power_w", "power_kw", "energy_kwh", "energy_wh", "voltage_v", "current_a", "x"])


@st.composite
def _reading_text(draw: st.DrawFn) -> str:
    fields = [f'"{draw(_keys)}":{draw(_numbers)}' for _ in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()):
        fields.append(f'"time":{draw(_times)}')
    if draw(st.booleans()):
        fields.append(f'"device":{draw(_devices)}')
    return "{" + ",".join(fields) + "}"


@st.composite
def _batch_text(draw: st.DrawFn) -> str:
    items = draw(st.lists(_reading_text(), max_size=5))
    head = f'"device":{draw(_devices)},' if draw(st.booleans()) else ""
    return "{" + head + '"readings":[' + ",".join(items) + "]}"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_nesting = st.integers(min_value=1, max_value=200_000).flatmap(
    lambda n: st.sampled_from(["[" * n, '{"a":' * n, "[" * n + "]" * n])
)

PAYLOADS = st.one_of(
    st.binary(max_size=300),
    _json_values.map(lambda v: json.dumps(v)),
    _reading_text(),
    _batch_text(),
    _nesting,
).map(lambda p: p if isinstance(p, bytes) else p.encode("utf-8", errors="surrogatepass"))


def test_random_and_adversarial_payloads_never_cost_a_good_reading(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    repo = SqliteRepository.open(SqliteConfig(tmp_path / "store.sqlite3"))
    register(repo, "fuzz", "good")

    def bindings(prefix: str) -> list[TopicBinding]:
        return [
            TopicBinding(f"{prefix}/fuzz", device_id="fuzz"),
            TopicBinding(f"{prefix}/good", device_id="good"),
        ]

    publisher = mqtt_client_factory()
    fed: list[bytes] = []
    try:
        with running_ingest(repo, mqtt_broker, tmp_path / "spool", bindings, dead_letters=True) as run:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(payload=PAYLOADS)
            def feed(payload: bytes) -> None:
                publisher.publish(f"{run.prefix}/fuzz", payload, qos=1).wait_for_publish(timeout=10)
                second = len(fed)
                fed.append(payload)
                good = {"time": (BASE + timedelta(seconds=second)).isoformat(), "power_w": second}
                publisher.publish(f"{run.prefix}/good", json.dumps(good).encode(), qos=1).wait_for_publish(10)

            feed()
            wait_for(lambda: run.pipeline.counts().messages == 2 * len(fed), 20, "every message handled")
            wait_for(run.pipeline.is_idle, 10, "pipeline idle")
            assert run.ingester.alive()
            counts = run.pipeline.counts()
            refused = run.pipeline.refusals.total()
        stored = repo.readings("good", BASE, BASE + timedelta(hours=1))
        assert [r.power_w for r in stored] == [float(i) for i in range(len(fed))]
        print(
            f"poison-payload property: {len(fed)} payloads fed, {len(stored)} good readings stored, "
            f"{refused} refusals, {counts.readings_stored - len(stored)} fuzz readings stored"
        )
        assert counts.writer_errors == 0
    finally:
        repo.close()
