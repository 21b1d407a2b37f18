"""A database made by a released version opens: schema v2 (before the SQLite roll-up and command expiry),
with rows stored the way that version stored them, is migrated and reads back what it holds."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shems_optimizer.adapters.store import (
    SqliteConfig,
    SqliteRepository,
    TimescaleConfig,
    TimescaleRepository,
    sqlite_schema,
    timescale_schema,
)
from shems_optimizer.app.records.models import (
    CommandStatus,
    Device,
    DeviceType,
    ForecastKind,
    ForecastPoint,
    Granularity,
    Home,
    Reading,
    Schedule,
    StoredPlan,
)
from shems_optimizer.app.records.repository import ConsumptionQuery, Repository

T = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # the night Paris moves to summer time
POWERS = [400.0 + 10 * (i % 3) for i in range(24)]  # every 5 minutes for two hours
DOCUMENT = {"steps": [1.5, None, {"ev": "charge"}]}


def _us(value: datetime) -> int:
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _rows(time: Callable[[datetime], Any], doc: Callable[[Any], Any]) -> dict[str, list[tuple[Any, ...]]]:
    """The v2 rows, with times and JSON in the back-end's stored form."""
    return {
        "homes": [("h", "Maison", "Europe/Paris")],
        "devices (id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes)": [
            ("grid", "h", "grid", "Grid", doc(["a/b", "c"]), "1.0", time(T), doc({"k": [1, 2]})),
            ("pv", "h", "pv", "PV", doc([]), None, None, doc({})),
        ],
        "energy_consumption (device_id, time, power_w, energy_kwh, voltage_v, current_a)": [
            ("grid", time(T + timedelta(minutes=5 * i)), p, None, 230.5, None) for i, p in enumerate(POWERS)
        ]
        + [
            ("pv", time(T), None, 12.5, None, None),
            ("pv", time(T + timedelta(hours=1)), None, 13.0, None, None),
        ],
        "device_commands (id, device_id, type, payload, status, created_at, sent_at, attempts)": [
            ("c1", "grid", "set_power", doc({"w": 500}), "sent", time(T), time(T + timedelta(seconds=2)), 1)
        ],
        "command_errors (command_id, time, attempt, message)": [("c1", time(T), 1, "no answer")],
        "forecasts (id, home_id, kind, device_id, issued_at, unit, source)": [
            ("f1", "h", "pv", "pv", time(T), "W", "clear-sky")
        ],
        "forecast_points (forecast_id, time, p50, p10, p90)": [
            ("f1", time(T + timedelta(hours=k)), 100.0 * k, None, 120.0 * k) for k in range(3)
        ],
        "plans (id, home_id, created_at, horizon_start, horizon_end, status, objective, document)": [
            ("p1", "h", time(T), time(T), time(T + timedelta(days=1)), "optimal", 1.25, doc(DOCUMENT))
        ],
        "schedules (id, home_id, device_id, name, created_at, earliest_start, deadline, status, payload)": [
            (
                "s1",
                "h",
                "grid",
                "dishwasher",
                time(T),
                None,
                time(T + timedelta(hours=7)),
                "active",
                doc({"a": 1}),
            )
        ],
    }


def _released_sqlite(path: Path) -> Repository:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        for migration in sqlite_schema.RELEASED[:2]:
            for statement in migration.statements:
                db.execute(str(statement))
            db.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (migration.version, migration.name))
        for table, rows in _rows(_us, json.dumps).items():
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    db.close()
    return SqliteRepository.open(SqliteConfig(path))


def _released_timescale(dsn: str) -> Repository:
    def doc(value: Any) -> Any:
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else Jsonb(value)

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in timescale_schema.RELEASED[:2]:
            for statement in migration.statements:
                conn.execute(str(statement))
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        for table, rows in _rows(lambda value: value, doc).items():
            marks = ", ".join(["%s"] * len(rows[0]))
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        # As that version's writes did: the range they touched, for the roll-ups to pick up.
        conn.execute("INSERT INTO rollup_invalidations (lo, hi) VALUES (%s, %s)", (T, T + timedelta(hours=2)))
    return TimescaleRepository.open(TimescaleConfig(dsn, max_connections=1))


@pytest.fixture(params=["sqlite", "timescaledb"])
def released(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repository]:
    if request.param == "sqlite":
        repo = _released_sqlite(tmp_path / "released.sqlite3")
    else:
        repo = _released_timescale(request.getfixturevalue("timescale_dsn"))
    yield repo
    repo.close()


def test_a_released_v2_database_migrates_and_reads_back(released: Repository) -> None:
    repo = released
    assert repo.schema_version() == len(sqlite_schema.MIGRATIONS)
    assert repo.list_homes() == [Home("h", "Maison", "Europe/Paris")]
    assert repo.list_devices() == [
        Device("grid", "h", DeviceType.GRID, "Grid", ("a/b", "c"), "1.0", T, {"k": [1, 2]}),
        Device("pv", "h", DeviceType.PV, "PV"),
    ]
    grid = repo.readings("grid", T, T + timedelta(hours=2))
    assert grid == [
        Reading("grid", T + timedelta(minutes=5 * i), p, None, 230.5, None) for i, p in enumerate(POWERS)
    ]
    assert repo.latest_readings(["pv"]) == {"pv": Reading("pv", T + timedelta(hours=1), None, 13.0)}
    hours = repo.consumption(ConsumptionQuery(T, T + timedelta(hours=2), Granularity.HOUR, ("grid",)))
    assert [round(b.import_kwh, 9) for b in hours] == [
        round(sum(POWERS[12 * h : 12 * h + 12]) / 12 / 1000, 9) for h in range(2)
    ]
    days = repo.consumption(
        ConsumptionQuery(T, T + timedelta(hours=2), Granularity.DAY, home_id="h", total=True)
    )
    assert len(days) == 1 and round(days[0].import_kwh, 9) == round(sum(POWERS) / 12 / 1000 + 0.5, 9)
    command = repo.get_command("c1")
    assert command is not None
    assert (command.status, command.attempts, command.payload) == (CommandStatus.SENT, 1, {"w": 500})
    assert (command.expires_at, command.error) == (None, None)  # columns added by migration 4
    assert (
        repo.update_command_status("c1", CommandStatus.ACKED, T + timedelta(seconds=3)).acked_at is not None
    )
    assert [e.message for e in repo.command_errors("c1")] == ["no answer"]
    forecast = repo.latest_forecast("h", ForecastKind.PV, device_id="pv")
    assert forecast is not None and forecast.points == tuple(
        ForecastPoint(T + timedelta(hours=k), 100.0 * k, None, 120.0 * k) for k in range(3)
    )
    assert repo.latest_plan("h") == StoredPlan(
        "p1", "h", T, T, T + timedelta(days=1), "optimal", DOCUMENT, 1.25
    )
    assert repo.list_schedules("h") == [
        Schedule("s1", "h", "grid", "dishwasher", T, T + timedelta(hours=7), None, payload={"a": 1})
    ]
