"""The embedded store's 15-minute roll-up: the same answers as the readings, for a bounded amount of work."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shems_optimizer.adapters.store import SqliteConfig, SqliteRepository, sqlite_schema
from shems_optimizer.adapters.store.sqlite_rollup import BASE_US, bucket_of
from shems_optimizer.app.records.models import Device, DeviceType, Granularity, Home, Reading
from shems_optimizer.app.records.repository import ConsumptionQuery

START = datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
DEVICES = ("fridge", "heatpump", "pv")


def _open(path: Path) -> SqliteRepository:
    repo = SqliteRepository.open(SqliteConfig(path))
    repo.upsert_home(Home("home", "Home", "Europe/Berlin"))
    for device_id in DEVICES:
        repo.upsert_device(Device(device_id, "home", DeviceType.LOAD, device_id))
    return repo


def _raw_answer(path: Path, devices: tuple[str, ...], lo: datetime, hi: datetime) -> list[tuple[object, ...]]:
    """The 15-minute aggregate computed from the readings themselves."""
    lo_us, hi_us = ((t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) for t in (lo, hi))
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT device_id, time, power_w, energy_kwh FROM energy_consumption "
            "WHERE time >= ? AND time < ? ORDER BY device_id, time",
            (lo_us, hi_us),
        ).fetchall()
    buckets: dict[tuple[str, int], list[tuple[float | None, float | None]]] = {}
    for device_id, time_us, power, energy in rows:
        if device_id in devices:
            buckets.setdefault((device_id, time_us // BASE_US * BASE_US), []).append((power, energy))
    answer = []
    for (device_id, bucket), values in sorted(buckets.items()):
        powers = [p for p, _ in values if p is not None]
        counters = [e for _, e in values if e is not None]
        imported = sum(p for p in powers if p > 0) / len(powers) * 0.00025 if powers else 0.0
        answer.append(
            (
                device_id,
                bucket,
                len(values),
                len(powers),
                round(imported, 9),
                max(powers, default=None),
                min(counters, default=None),
                max(counters, default=None),
            )
        )
    return answer


def _rollup_answer(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT device_id, bucket, samples, power_samples, "
            "coalesce(sum_import_w / nullif(power_samples, 0), 0) * 0.00025, max_power_w, min_kwh, max_kwh "
            "FROM energy_15min ORDER BY device_id, bucket"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3], round(r[4], 9), r[5], r[6], r[7]) for r in rows]


def test_rollup_matches_the_readings_after_resends_corrections_and_late_data(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    repo = _open(path)
    rng = random.Random(3)
    readings = [
        Reading(
            rng.choice(DEVICES),
            START + timedelta(seconds=rng.randrange(0, 3 * 86400)),
            power_w=rng.choice([None, rng.uniform(-3000, 5000)]),
            energy_kwh=rng.choice([None, rng.uniform(0, 100)]),
        )
        for _ in range(3000)
    ]
    for i in range(0, len(readings), 97):  # batches of several devices and buckets
        repo.write_readings(readings[i : i + 97])
    repo.write_readings(readings[:500])  # re-sent
    corrected = [Reading(r.device_id, r.time, power_w=1234.5) for r in readings[1000:1300]]
    repo.write_readings(corrected)  # late corrections of old buckets
    repo.close()
    assert _rollup_answer(path) == _raw_answer(path, DEVICES, START, START + timedelta(days=4))


def test_consumption_reads_the_rollup_not_every_reading(tmp_path: Path) -> None:
    """Two days of 10-s readings from three meters: a question over both days costs a few thousand
    SQLite steps, where aggregating the 51,840 readings cost well over a million."""
    repo = _open(tmp_path / "s.sqlite3")
    for device_id in DEVICES:
        repo.write_readings(
            [Reading(device_id, START + timedelta(seconds=10 * i), power_w=100.0) for i in range(2 * 8640)]
        )
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    repo._db.set_progress_handler(count, 100)
    buckets = repo.consumption(
        ConsumptionQuery(START, START + timedelta(days=2), Granularity.HOUR, device_ids=DEVICES)
    )
    repo._db.set_progress_handler(None, 100)
    repo.close()
    assert len(buckets) == 3 * 48 and {b.samples for b in buckets} == {360}
    assert abs(sum(b.import_kwh for b in buckets) - 3 * 48 * 0.1) < 1e-6  # 100 W for 144 hours
    assert steps * 100 < 100_000, f"{steps * 100} SQLite steps for one question"


def test_the_migration_fills_the_rollup_from_existing_readings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.sqlite3"
    monkeypatch.setattr("shems_optimizer.adapters.store.sqlite.MIGRATIONS", sqlite_schema.MIGRATIONS[:2])
    monkeypatch.setattr("shems_optimizer.adapters.store.sqlite.recompute", lambda _db, _touched: None)
    old = _open(path)  # a store from before the roll-up
    old.write_readings(
        [
            Reading("fridge", START - timedelta(days=20000) + timedelta(minutes=7 * i), power_w=50.0 + i)
            for i in range(400)
        ]  # also before 1970: buckets are floor-divided
    )
    old.close()
    monkeypatch.undo()
    _open(path).close()
    lo = START - timedelta(days=20001)
    assert _rollup_answer(path) == _raw_answer(path, DEVICES, lo, START)
    assert bucket_of(-1) == -BASE_US
