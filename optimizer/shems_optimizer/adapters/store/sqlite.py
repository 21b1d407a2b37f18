"""Embedded SQLite back-end: the default for a single home without a database server.

The records and simple reads are :mod:`shems_optimizer.adapters.store.sql`'s, shared with TimescaleDB; this
module adds what is SQLite's own: one connection (WAL journal, foreign keys on) shared by all threads behind a
lock — SQLite serialises writers anyway, and a home produces a few readings per second — write
transactions that take the write lock up front (``BEGIN IMMEDIATE``), and telemetry: the upsert of
readings and the 15-minute roll-up it keeps (:mod:`shems_optimizer.adapters.store.sqlite_rollup`). Times are
stored as integer microseconds since the epoch (UTC) so ordering and equality are exact.

The telemetry statements run on the sqlite3 connection under the SQL layer's: ``executemany`` of one
prepared statement is what SQLite does fastest, and the roll-up's statements are SQLite's own SQL anyway.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from shems_optimizer.adapters.store import tables as t
from shems_optimizer.adapters.store.migrations import apply_pending
from shems_optimizer.adapters.store.sql import SqlRepository, store_errors
from shems_optimizer.adapters.store.sqlite_rollup import BASE_US, HOUR_US, SELECT_RANGE, recompute
from shems_optimizer.adapters.store.sqlite_schema import MIGRATIONS
from shems_optimizer.adapters.store.tables import MICROSECOND, from_us, to_us
from shems_optimizer.app.records.aggregation import (
    AggregateRow,
    bucket_end,
    has_whole_hour_offsets,
    local_bucket_start,
    rebucket,
    zone,
)
from shems_optimizer.app.records.models import Granularity, Reading, StoreUnavailableError, require_aware
from shems_optimizer.app.records.repository import WriteResult

__all__ = ["SqliteConfig", "SqliteRepository", "from_us", "to_us"]

_UPSERT_READINGS = (
    "INSERT INTO energy_consumption (device_id, time, power_w, energy_kwh, voltage_v, current_a) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, time) DO UPDATE SET "
    "power_w = coalesce(excluded.power_w, power_w), "
    "energy_kwh = coalesce(excluded.energy_kwh, energy_kwh), "
    "voltage_v = coalesce(excluded.voltage_v, voltage_v), "
    "current_a = coalesce(excluded.current_a, current_a)"
)
_VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
)


@dataclass(frozen=True)
class SqliteConfig:
    path: Path
    # How long a writer waits for another process's lock before reporting the store unavailable.
    busy_timeout_s: float = 10.0


class SqliteRepository(SqlRepository):
    backend = "sqlite"
    _upsert = staticmethod(sqlite.insert)

    def __init__(self, conn: Connection, db: sqlite3.Connection) -> None:
        self._conn = conn  # the SQL layer's connection over ...
        self._db = db  # ... this sqlite3 connection (telemetry hot path)
        self._lock = threading.RLock()

    @classmethod
    def open(cls, config: SqliteConfig) -> SqliteRepository:
        config.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(
                config.path, timeout=config.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise StoreUnavailableError(f"cannot open SQLite store {config.path}: {err}") from err
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        # Autocommit at the driver (isolation_level=None): transactions are the explicit BEGIN IMMEDIATE
        # of _writing, which the SQL layer's commit and rollback then end.
        engine = create_engine("sqlite+pysqlite://", creator=lambda: db, poolclass=StaticPool)
        repo = cls(engine.connect(), db)
        try:
            apply_pending(repo._conn, MIGRATIONS, lambda _conn: repo._writing(), _VERSIONS_TABLE)
        except BaseException:
            repo.close()
            raise
        return repo

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._conn.engine.dispose()
            self._db.close()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._lock, self._unavailable(), store_errors():
            try:
                yield self._conn
            finally:
                self._conn.rollback()  # ends the layer's transaction marker; no statement is sent

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._lock, self._unavailable(), store_errors():
            self._conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    @staticmethod
    @contextmanager
    def _unavailable() -> Iterator[None]:
        """A locked or unreadable database file: the caller may retry or spool."""
        try:
            yield
        except (OperationalError, sqlite3.OperationalError) as err:
            raise StoreUnavailableError(f"SQLite store unavailable: {err}") from err

    # -- telemetry -----------------------------------------------------------------------------------
    def write_readings(self, readings: Sequence[Reading]) -> WriteResult:
        if not readings:
            return WriteResult(0, 0)
        rows = [
            (r.device_id, to_us(r.time), r.power_w, r.energy_kwh, r.voltage_v, r.current_a) for r in readings
        ]
        # The sqlite3 connection under the layer's: executemany of one prepared statement. The same upsert
        # through SQLAlchemy Core (a list of dicts) measured 0.37 s against 0.19 s for 50,000 readings.
        with self._writing():
            before = self._db.total_changes
            self._db.executemany(_UPSERT_READINGS, rows)
            written = self._db.total_changes - before
            recompute(self._db, ((row[0], row[1]) for row in rows))
        return WriteResult(len(readings), written)

    def latest_readings(self, device_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        c = t.energy_consumption.c
        with self._reading() as conn:
            ids = list(device_ids) if device_ids is not None else list(conn.scalars(select(t.devices.c.id)))
            result: dict[str, Reading] = {}
            for device_id in ids:
                row = conn.execute(
                    select(c.device_id, c.time, c.power_w, c.energy_kwh, c.voltage_v, c.current_a)
                    .where(c.device_id == device_id)
                    .order_by(c.time.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    result[device_id] = Reading(*row)
        return result

    def refresh_aggregates(self, start: datetime, end: datetime) -> None:
        """Nothing to refresh: each write keeps the 15-minute roll-up up to date in its transaction."""
        require_aware(start, "start")
        require_aware(end, "end")

    def run_maintenance(self, now: datetime) -> None:
        """Nothing to do: the roll-up is kept by the writes, and a single home's history is kept whole."""
        require_aware(now, "now")

    def _aggregate(
        self, device_ids: Sequence[str], start: datetime, end: datetime, granularity: Granularity, tz: str
    ) -> list[AggregateRow]:
        tzinfo = zone(tz)
        lo = local_bucket_start(start, granularity, tzinfo)
        hi = bucket_end(local_bucket_start(end - MICROSECOND, granularity, tzinfo), granularity, tzinfo)
        # Group as far as SQL can: local hours are UTC hours unless the zone has a half-hour offset.
        # 15-minute rows are already the 15-minute buckets of every zone (all offsets are multiples).
        hourly = granularity is not Granularity.MIN15 and has_whole_hour_offsets(tzinfo, lo, hi)
        params = {
            "devices": json.dumps(list(device_ids)),
            "lo": to_us(lo),
            "hi": to_us(hi),
            "step": HOUR_US if hourly else BASE_US,
        }
        with self._lock, self._unavailable():
            rows = self._db.execute(SELECT_RANGE, params).fetchall()
        base = [
            AggregateRow(
                device_id=r[0],
                start=from_us(r[1]),
                samples=r[2],
                power_samples=r[3],
                import_kwh=float(r[5]),
                export_kwh=float(r[6]),
                avg_power_w=r[4] / r[3] if r[3] else None,
                max_power_w=r[7],
                min_power_w=r[8],
                min_kwh=r[9],
                max_kwh=r[10],
            )
            for r in rows
        ]
        if granularity is Granularity.MIN15 or (hourly and granularity is Granularity.HOUR):
            return base
        return rebucket(base, granularity, tzinfo)
