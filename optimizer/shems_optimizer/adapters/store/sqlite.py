"""Embedded SQLite back-end: the default for a single home without a database server.

One connection (WAL journal, foreign keys on) shared by all threads behind a lock — SQLite serialises
writers anyway, and a home produces a few readings per second. Times are stored as integer microseconds
since the epoch (UTC) so ordering and equality are exact.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shems_optimizer.adapters.store.migrations import pending
from shems_optimizer.adapters.store.sqlite_rollup import BASE_US, HOUR_US, SELECT_RANGE, recompute
from shems_optimizer.adapters.store.sqlite_schema import MIGRATIONS
from shems_optimizer.app.records.aggregation import (
    AggregateRow,
    bucket_end,
    has_whole_hour_offsets,
    local_bucket_start,
    rebucket,
    zone,
)
from shems_optimizer.app.records.models import (
    CommandError,
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceType,
    Forecast,
    ForecastKind,
    ForecastPoint,
    Granularity,
    Home,
    Reading,
    Schedule,
    ScheduleStatus,
    StoredPlan,
    StoreError,
    StoreUnavailableError,
    require_aware,
)
from shems_optimizer.app.records.repository import Repository, WriteResult, new_id

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(value: datetime) -> int:
    return (require_aware(value, "time") - _EPOCH) // _US


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _opt_us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def _opt_dt(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


@dataclass(frozen=True)
class SqliteConfig:
    path: Path
    # How long a writer waits for another process's lock before reporting the store unavailable.
    busy_timeout_s: float = 10.0


class SqliteRepository(Repository):
    backend = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._db = conn
        self._lock = threading.RLock()

    @classmethod
    def open(cls, config: SqliteConfig) -> SqliteRepository:
        config.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                config.path, timeout=config.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise StoreUnavailableError(f"cannot open SQLite store {config.path}: {err}") from err
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        repo = cls(conn)
        repo._migrate()
        return repo

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
        while True:
            with self._tx() as db:
                current = db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
                todo = pending(MIGRATIONS, int(current))
                if not todo:
                    return
                migration = todo[0]
                for statement in migration.statements:
                    try:
                        db.execute(statement)
                    except sqlite3.Error as err:
                        raise StoreError(
                            f"migration {migration.version} ({migration.name}) failed and was rolled "
                            f"back: {err}"
                        ) from err
                db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_us(datetime.now(UTC))),
                )

    def schema_version(self) -> int:
        return int(self._query("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0])

    # -- homes and devices ---------------------------------------------------------------------------
    def upsert_home(self, home: Home) -> None:
        zone(home.timezone)
        with self._tx() as db:
            db.execute(
                "INSERT INTO homes (id, name, timezone) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone",
                (home.id, home.name, home.timezone),
            )

    def get_home(self, home_id: str) -> Home | None:
        rows = self._query("SELECT id, name, timezone FROM homes WHERE id = ?", (home_id,))
        return Home(*rows[0]) if rows else None

    def list_homes(self) -> list[Home]:
        return [Home(*r) for r in self._query("SELECT id, name, timezone FROM homes ORDER BY id")]

    _DEVICE_COLUMNS = "id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes"

    def upsert_device(self, device: Device) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO devices (id, home_id, type, name, mqtt_topics, firmware, last_seen, "
                    "attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET home_id = excluded.home_id, type = excluded.type, "
                    "name = excluded.name, mqtt_topics = excluded.mqtt_topics, firmware = excluded.firmware, "
                    "last_seen = coalesce(excluded.last_seen, devices.last_seen), attributes = "
                    "excluded.attributes",
                    (
                        device.id,
                        device.home_id,
                        device.type.value,
                        device.name,
                        json.dumps(list(device.mqtt_topics)),
                        device.firmware,
                        _opt_us(device.last_seen),
                        json.dumps(device.attributes),
                    ),
                )
        except sqlite3.IntegrityError as err:
            raise StoreError(f"device {device.id!r}: unknown home {device.home_id!r}") from err

    @staticmethod
    def _device(row: Sequence[Any]) -> Device:
        return Device(
            id=row[0],
            home_id=row[1],
            type=DeviceType(row[2]),
            name=row[3],
            mqtt_topics=tuple(json.loads(row[4])),
            firmware=row[5],
            last_seen=_opt_dt(row[6]),
            attributes=json.loads(row[7]),
        )

    def get_device(self, device_id: str) -> Device | None:
        rows = self._query(
            "SELECT id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes FROM devices "
            "WHERE id = ?",
            (device_id,),
        )
        return self._device(rows[0]) if rows else None

    def list_devices(self, home_id: str | None = None) -> list[Device]:
        if home_id is None:
            rows = self._query(
                "SELECT id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes FROM "
                "devices ORDER BY id"
            )
        else:
            rows = self._query(
                "SELECT id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes FROM "
                "devices WHERE home_id = ? ORDER BY id",
                (home_id,),
            )
        return [self._device(r) for r in rows]

    def delete_device(self, device_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM devices WHERE id = ?", (device_id,)).rowcount > 0

    def touch_devices(self, last_seen: dict[str, datetime]) -> None:
        if not last_seen:
            return
        params = [(to_us(seen), device_id, to_us(seen)) for device_id, seen in sorted(last_seen.items())]
        with self._tx() as db:
            db.executemany(
                "UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)",
                params,
            )

    # -- telemetry -----------------------------------------------------------------------------------
    def write_readings(self, readings: Sequence[Reading]) -> WriteResult:
        if not readings:
            return WriteResult(0, 0)
        rows = [
            (r.device_id, to_us(r.time), r.power_w, r.energy_kwh, r.voltage_v, r.current_a) for r in readings
        ]
        try:
            with self._tx() as db:
                before = db.total_changes
                db.executemany(
                    "INSERT INTO energy_consumption (device_id, time, power_w, energy_kwh, voltage_v, "
                    "current_a) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, time) DO UPDATE SET "
                    "power_w = coalesce(excluded.power_w, power_w), "
                    "energy_kwh = coalesce(excluded.energy_kwh, energy_kwh), "
                    "voltage_v = coalesce(excluded.voltage_v, voltage_v), "
                    "current_a = coalesce(excluded.current_a, current_a)",
                    rows,
                )
                written = db.total_changes - before
                recompute(db, ((row[0], row[1]) for row in rows))
        except sqlite3.OperationalError as err:
            raise StoreUnavailableError(f"SQLite store unavailable while writing telemetry: {err}") from err
        return WriteResult(len(readings), written)

    @staticmethod
    def _reading(row: Sequence[Any]) -> Reading:
        return Reading(row[0], from_us(row[1]), *row[2:])

    def readings(
        self, device_id: str, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reading]:
        sql = (
            "SELECT device_id, time, power_w, energy_kwh, voltage_v, current_a FROM energy_consumption "
            "WHERE device_id = ? AND time >= ? AND time < ? ORDER BY time"
        )
        params: list[Any] = [device_id, to_us(start), to_us(end)]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._reading(r) for r in self._query(sql, params)]

    def latest_readings(self, device_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        ids = (
            list(device_ids)
            if device_ids is not None
            else [r[0] for r in self._query("SELECT id FROM devices")]
        )
        result: dict[str, Reading] = {}
        for device_id in ids:
            rows = self._query(
                "SELECT device_id, time, power_w, energy_kwh, voltage_v, current_a FROM energy_consumption "
                "WHERE device_id = ? ORDER BY time DESC LIMIT 1",
                (device_id,),
            )
            if rows:
                result[device_id] = self._reading(rows[0])
        return result

    def count_readings(
        self, device_id: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> int:
        params = {"device": device_id, "start": _opt_us(start), "end": _opt_us(end)}
        rows = self._query(
            "SELECT count(*) FROM energy_consumption WHERE (:device IS NULL OR device_id = :device) "
            "AND (:start IS NULL OR time >= :start) AND (:end IS NULL OR time < :end)",
            params,
        )
        return int(rows[0][0])

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
        hi = bucket_end(local_bucket_start(end - _US, granularity, tzinfo), granularity, tzinfo)
        # Group as far as SQL can: local hours are UTC hours unless the zone has a half-hour offset.
        # 15-minute rows are already the 15-minute buckets of every zone (all offsets are multiples).
        hourly = granularity is not Granularity.MIN15 and has_whole_hour_offsets(tzinfo, lo, hi)
        rows = self._query(
            SELECT_RANGE,
            {
                "devices": json.dumps(list(device_ids)),
                "lo": to_us(lo),
                "hi": to_us(hi),
                "step": HOUR_US if hourly else BASE_US,
            },
        )
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

    # -- device commands -----------------------------------------------------------------------------
    @staticmethod
    def _command(row: Sequence[Any]) -> DeviceCommand:
        return DeviceCommand(
            id=row[0],
            device_id=row[1],
            type=row[2],
            payload=json.loads(row[3]),
            status=CommandStatus(row[4]),
            created_at=from_us(row[5]),
            correlation_id=row[6],
            sent_at=_opt_dt(row[7]),
            acked_at=_opt_dt(row[8]),
            finished_at=_opt_dt(row[9]),
            attempts=row[10],
            expires_at=_opt_dt(row[11]),
            error=row[12],
        )

    def create_command(
        self,
        device_id: str,
        command_type: str,
        payload: dict[str, Any],
        created_at: datetime,
        correlation_id: str | None = None,
        command_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> DeviceCommand:
        command = DeviceCommand(
            id=command_id or new_id(),
            device_id=device_id,
            type=command_type,
            payload=payload,
            status=CommandStatus.PENDING,
            created_at=require_aware(created_at, "command created_at"),
            correlation_id=correlation_id,
            expires_at=None if expires_at is None else require_aware(expires_at, "command expires_at"),
        )
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO device_commands (id, device_id, type, payload, status, created_at, "
                    "correlation_id, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        command.id,
                        device_id,
                        command_type,
                        json.dumps(payload),
                        command.status.value,
                        to_us(created_at),
                        correlation_id,
                        _opt_us(expires_at),
                    ),
                )
        except sqlite3.IntegrityError as err:
            if "FOREIGN KEY" in str(err):
                raise StoreError(f"command for unknown device {device_id!r}") from err
            raise StoreError(f"command id {command.id!r} already exists") from err
        return command

    def get_command(self, command_id: str) -> DeviceCommand | None:
        rows = self._query(
            "SELECT id, device_id, type, payload, status, created_at, correlation_id, sent_at, acked_at, "
            "finished_at, attempts, expires_at, error FROM device_commands WHERE id = ?",
            (command_id,),
        )
        return self._command(rows[0]) if rows else None

    def list_commands(
        self,
        device_id: str | None = None,
        statuses: Iterable[CommandStatus] | None = None,
        limit: int = 100,
    ) -> list[DeviceCommand]:
        params = {
            "device": device_id,
            "statuses": None if statuses is None else json.dumps([st.value for st in statuses]),
            "limit": limit,
        }
        rows = self._query(
            "SELECT id, device_id, type, payload, status, created_at, correlation_id, sent_at, acked_at, "
            "finished_at, attempts, expires_at, error FROM device_commands "
            "WHERE (:device IS NULL OR device_id = :device) "
            "AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses))) "
            "ORDER BY created_at DESC, id DESC LIMIT :limit",
            params,
        )
        return [self._command(r) for r in rows]

    def _write_command_status(self, command: DeviceCommand) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE device_commands SET status = ?, sent_at = ?, acked_at = ?, finished_at = ?, "
                "attempts = ?, error = ? WHERE id = ?",
                (
                    command.status.value,
                    _opt_us(command.sent_at),
                    _opt_us(command.acked_at),
                    _opt_us(command.finished_at),
                    command.attempts,
                    command.error,
                    command.id,
                ),
            )

    def record_command_error(self, command_id: str, at: datetime, attempt: int, message: str) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO command_errors (command_id, time, attempt, message) VALUES (?, ?, ?, ?)",
                    (command_id, to_us(at), attempt, message),
                )
        except sqlite3.IntegrityError as err:
            raise StoreError(f"error for unknown command {command_id!r}") from err

    def command_errors(self, command_id: str) -> list[CommandError]:
        rows = self._query(
            "SELECT command_id, time, attempt, message FROM command_errors WHERE command_id = ? ORDER BY "
            "time, id",
            (command_id,),
        )
        return [CommandError(r[0], from_us(r[1]), r[2], r[3]) for r in rows]

    # -- forecasts and plans -------------------------------------------------------------------------
    def save_forecast(self, forecast: Forecast) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO forecasts (id, home_id, kind, device_id, issued_at, unit, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        forecast.id,
                        forecast.home_id,
                        forecast.kind.value,
                        forecast.device_id,
                        to_us(forecast.issued_at),
                        forecast.unit,
                        forecast.source,
                    ),
                )
                db.executemany(
                    "INSERT INTO forecast_points (forecast_id, time, p50, p10, p90) VALUES (?, ?, ?, ?, ?)",
                    [(forecast.id, to_us(p.time), p.p50, p.p10, p.p90) for p in forecast.points],
                )
        except sqlite3.IntegrityError as err:
            if "FOREIGN KEY" in str(err):
                raise StoreError(f"forecast {forecast.id!r}: unknown home {forecast.home_id!r}") from err
            raise StoreError(f"forecast id {forecast.id!r} already exists") from err

    def get_forecast(self, forecast_id: str) -> Forecast | None:
        head = self._query(
            "SELECT id, home_id, kind, issued_at, unit, source, device_id FROM forecasts WHERE id = ?",
            (forecast_id,),
        )
        if not head:
            return None
        h = head[0]
        points = self._query(
            "SELECT time, p50, p10, p90 FROM forecast_points WHERE forecast_id = ? ORDER BY time",
            (forecast_id,),
        )
        return Forecast(
            id=h[0],
            home_id=h[1],
            kind=ForecastKind(h[2]),
            issued_at=from_us(h[3]),
            unit=h[4],
            source=h[5],
            device_id=h[6],
            points=tuple(ForecastPoint(from_us(p[0]), p[1], p[2], p[3]) for p in points),
        )

    def latest_forecast(
        self,
        home_id: str,
        kind: ForecastKind,
        issued_before: datetime | None = None,
        device_id: str | None = None,
    ) -> Forecast | None:
        sql = "SELECT id FROM forecasts WHERE home_id = ? AND kind = ? AND device_id IS ?"
        params: list[Any] = [home_id, kind.value, device_id]
        if issued_before is not None:
            sql += " AND issued_at <= ?"
            params.append(to_us(issued_before))
        rows = self._query(sql + " ORDER BY issued_at DESC LIMIT 1", params)
        return self.get_forecast(rows[0][0]) if rows else None

    _PLAN_COLUMNS = "id, home_id, created_at, horizon_start, horizon_end, status, document, objective"

    def save_plan(self, plan: StoredPlan) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO plans (id, home_id, created_at, horizon_start, horizon_end, status, "
                    "document, objective) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        plan.id,
                        plan.home_id,
                        to_us(plan.created_at),
                        to_us(plan.horizon_start),
                        to_us(plan.horizon_end),
                        plan.status,
                        json.dumps(plan.document),
                        plan.objective,
                    ),
                )
        except sqlite3.IntegrityError as err:
            if "FOREIGN KEY" in str(err):
                raise StoreError(f"plan {plan.id!r}: unknown home {plan.home_id!r}") from err
            raise StoreError(f"plan id {plan.id!r} already exists") from err

    @staticmethod
    def _plan(row: Sequence[Any]) -> StoredPlan:
        return StoredPlan(
            id=row[0],
            home_id=row[1],
            created_at=from_us(row[2]),
            horizon_start=from_us(row[3]),
            horizon_end=from_us(row[4]),
            status=row[5],
            document=json.loads(row[6]),
            objective=row[7],
        )

    def get_plan(self, plan_id: str) -> StoredPlan | None:
        rows = self._query(
            "SELECT id, home_id, created_at, horizon_start, horizon_end, status, document, objective FROM "
            "plans WHERE id = ?",
            (plan_id,),
        )
        return self._plan(rows[0]) if rows else None

    def latest_plan(self, home_id: str) -> StoredPlan | None:
        plans = self.list_plans(home_id, limit=1)
        return plans[0] if plans else None

    def list_plans(
        self, home_id: str, since: datetime | None = None, limit: int = 50, before: datetime | None = None
    ) -> list[StoredPlan]:
        sql = (
            "SELECT id, home_id, created_at, horizon_start, horizon_end, status, document, objective FROM "
            "plans WHERE home_id = ?"
        )
        params: list[Any] = [home_id]
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(to_us(since))
        if before is not None:
            sql += " AND created_at < ?"
            params.append(to_us(before))
        rows = self._query(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", [*params, limit])
        return [self._plan(r) for r in rows]

    # -- schedules -----------------------------------------------------------------------------------
    _SCHEDULE_COLUMNS = "id, home_id, device_id, name, created_at, deadline, earliest_start, status, payload"

    def upsert_schedule(self, schedule: Schedule) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO schedules (id, home_id, device_id, name, created_at, deadline, "
                    "earliest_start, status, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET home_id = excluded.home_id, device_id = "
                    "excluded.device_id, "
                    "name = excluded.name, deadline = excluded.deadline, earliest_start = "
                    "excluded.earliest_start, "
                    "status = excluded.status, payload = excluded.payload",
                    (
                        schedule.id,
                        schedule.home_id,
                        schedule.device_id,
                        schedule.name,
                        to_us(schedule.created_at),
                        _opt_us(schedule.deadline),
                        _opt_us(schedule.earliest_start),
                        schedule.status.value,
                        json.dumps(schedule.payload),
                    ),
                )
        except sqlite3.IntegrityError as err:
            raise StoreError(
                f"schedule {schedule.id!r}: unknown home {schedule.home_id!r} or device "
                f"{schedule.device_id!r}"
            ) from err

    @staticmethod
    def _schedule(row: Sequence[Any]) -> Schedule:
        return Schedule(
            id=row[0],
            home_id=row[1],
            device_id=row[2],
            name=row[3],
            created_at=from_us(row[4]),
            deadline=_opt_dt(row[5]),
            earliest_start=_opt_dt(row[6]),
            status=ScheduleStatus(row[7]),
            payload=json.loads(row[8]),
        )

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        rows = self._query(
            "SELECT id, home_id, device_id, name, created_at, deadline, earliest_start, status, payload "
            "FROM schedules WHERE id = ?",
            (schedule_id,),
        )
        return self._schedule(rows[0]) if rows else None

    def list_schedules(self, home_id: str, status: ScheduleStatus | None = None) -> list[Schedule]:
        sql = (
            "SELECT id, home_id, device_id, name, created_at, deadline, earliest_start, status, payload "
            "FROM schedules WHERE home_id = ?"
        )
        params: list[Any] = [home_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        return [self._schedule(r) for r in self._query(sql + " ORDER BY created_at, id", params)]

    def delete_schedule(self, schedule_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,)).rowcount > 0
