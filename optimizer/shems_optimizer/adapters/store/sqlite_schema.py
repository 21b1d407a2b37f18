"""Embedded SQLite schema, as versioned migrations (see :mod:`shems_optimizer.adapters.store.migrations`).

Same tables and meaning as the TimescaleDB schema. Times are INTEGER microseconds since the Unix epoch
(UTC), JSON documents are TEXT. Consumption questions read a 15-minute roll-up that every write keeps
up to date (:mod:`shems_optimizer.adapters.store.sqlite_rollup`).
"""

from __future__ import annotations

from shems_optimizer.adapters.store.migrations import SHARED, Migration
from shems_optimizer.adapters.store.sqlite_rollup import BACKFILL, CREATE_TABLE

# Released: never edit (see shems_optimizer.adapters.store.migrations).
RELEASED: tuple[Migration, ...] = (
    Migration(
        1,
        "homes, devices, telemetry",
        (
            """CREATE TABLE homes (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                timezone TEXT NOT NULL DEFAULT 'UTC'
            )""",
            """CREATE TABLE devices (
                id TEXT PRIMARY KEY,
                home_id TEXT NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                type TEXT NOT NULL,
                name TEXT NOT NULL,
                mqtt_topics TEXT NOT NULL DEFAULT '[]',
                firmware TEXT,
                last_seen INTEGER,
                attributes TEXT NOT NULL DEFAULT '{}'
            )""",
            "CREATE INDEX devices_home_idx ON devices (home_id)",
            """CREATE TABLE energy_consumption (
                device_id TEXT NOT NULL,
                time INTEGER NOT NULL,
                power_w REAL,
                energy_kwh REAL,
                voltage_v REAL,
                current_a REAL,
                PRIMARY KEY (device_id, time)
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        2,
        "device commands, command errors, forecasts, plans, schedules",
        (
            """CREATE TABLE device_commands (
                id TEXT PRIMARY KEY,
                device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
                type TEXT NOT NULL,
                payload TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'acked', 'failed', 'expired')),
                correlation_id TEXT,
                created_at INTEGER NOT NULL,
                sent_at INTEGER,
                acked_at INTEGER,
                finished_at INTEGER,
                attempts INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX device_commands_device_idx ON device_commands (device_id, created_at)",
            """CREATE TABLE command_errors (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                command_id TEXT NOT NULL REFERENCES device_commands(id) ON DELETE CASCADE,
                time INTEGER NOT NULL,
                attempt INTEGER NOT NULL,
                message TEXT NOT NULL
            )""",
            """CREATE TABLE forecasts (
                id TEXT PRIMARY KEY,
                home_id TEXT NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                device_id TEXT,
                issued_at INTEGER NOT NULL,
                unit TEXT NOT NULL,
                source TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX forecasts_lookup_idx ON forecasts (home_id, kind, issued_at)",
            """CREATE TABLE forecast_points (
                forecast_id TEXT NOT NULL REFERENCES forecasts(id) ON DELETE CASCADE,
                time INTEGER NOT NULL,
                p50 REAL NOT NULL,
                p10 REAL,
                p90 REAL,
                PRIMARY KEY (forecast_id, time)
            ) WITHOUT ROWID""",
            """CREATE TABLE plans (
                id TEXT PRIMARY KEY,
                home_id TEXT NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL,
                horizon_start INTEGER NOT NULL,
                horizon_end INTEGER NOT NULL,
                status TEXT NOT NULL,
                objective REAL,
                document TEXT NOT NULL
            )""",
            "CREATE INDEX plans_home_idx ON plans (home_id, created_at)",
            """CREATE TABLE schedules (
                id TEXT PRIMARY KEY,
                home_id TEXT NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                device_id TEXT REFERENCES devices(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                earliest_start INTEGER,
                deadline INTEGER,
                status TEXT NOT NULL CHECK (status IN ('active', 'done', 'cancelled')),
                payload TEXT NOT NULL DEFAULT '{}'
            )""",
            "CREATE INDEX schedules_home_idx ON schedules (home_id, created_at)",
        ),
    ),
    Migration(3, "15-minute consumption roll-up, filled from the readings", (CREATE_TABLE, BACKFILL)),
    Migration(
        4,
        "command expiry and failure reason, kept across restarts",
        (
            "ALTER TABLE device_commands ADD COLUMN expires_at INTEGER",
            "ALTER TABLE device_commands ADD COLUMN error TEXT",
        ),
    ),
)

MIGRATIONS: tuple[Migration, ...] = (*RELEASED, *SHARED)
