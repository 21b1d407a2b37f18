"""TimescaleDB back-end (psycopg 3 with a connection pool).

Start-up checks that the ``timescaledb`` extension exists (creating it when allowed) *before* any
migration runs: on a plain PostgreSQL without it, :func:`TimescaleRepository.open` raises a
:class:`StoreError` that says so and leaves the database untouched.

Aggregates are SHEMS-maintained roll-up tables (:mod:`shems_optimizer.adapters.store.rollups`), because native
continuous aggregates, compression and policies are not part of TimescaleDB's Apache-2 edition.

Telemetry is written with ``COPY`` straight into the hypertable; if a batch collides with rows already
stored (a replay after an outage, a re-delivered MQTT message) the batch is rolled back and merged through
a temporary staging table with ``INSERT ... ON CONFLICT DO UPDATE``, so every (device, time) is stored
exactly once whatever the order of failures.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import psycopg.errors
from psycopg.rows import TupleRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from shems_optimizer.adapters.store.migrations import pending
from shems_optimizer.adapters.store.rollups import refresh_pending
from shems_optimizer.adapters.store.timescale_schema import MIGRATIONS
from shems_optimizer.app.records.aggregation import (
    TOTAL,
    AggregateRow,
    bucket_end,
    has_whole_hour_offsets,
    local_bucket_start,
    zone,
)
from shems_optimizer.app.records.models import (
    CommandError,
    CommandStatus,
    ConsumptionBucket,
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

_LOG = logging.getLogger(__name__)
_MIGRATION_LOCK = 0x5E45_0001  # pg_advisory lock key: one migrator at a time
_READING_COLUMNS = "device_id, time, power_w, energy_kwh, voltage_v, current_a"
_MERGE = (
    "INSERT INTO energy_consumption AS t (device_id, time, power_w, energy_kwh, voltage_v, current_a) "
    "SELECT device_id, time, power_w, energy_kwh, voltage_v, current_a FROM shems_stage "
    "ON CONFLICT (time, device_id) DO UPDATE SET "
    "power_w = coalesce(EXCLUDED.power_w, t.power_w), "
    "energy_kwh = coalesce(EXCLUDED.energy_kwh, t.energy_kwh), "
    "voltage_v = coalesce(EXCLUDED.voltage_v, t.voltage_v), "
    "current_a = coalesce(EXCLUDED.current_a, t.current_a)"
)

_INVALIDATE = "INSERT INTO rollup_invalidations (lo, hi) VALUES (%s, %s)"


def _copy_value(value: float | None) -> str:
    return "\\N" if value is None else repr(value)


def copy_text(readings: Sequence[Reading]) -> bytes:
    """COPY text rows for ``readings`` (several times faster than per-row adaptation).

    Only for device ids without tabs, newlines or backslashes (checked by the caller), which need no
    escaping; floats use ``repr`` (exact round trip).
    """
    lines: list[str] = []
    append = lines.append
    for device, time, power, energy, voltage, current in readings:
        append(
            f"{device}\t{time.isoformat()}\t{_copy_value(power)}\t{_copy_value(energy)}\t"
            f"{_copy_value(voltage)}\t{_copy_value(current)}\n"
        )
    return "".join(lines).encode()


def _write_copy(copy: psycopg.Copy, readings: Sequence[Reading]) -> None:
    if any(_NEEDS_ESCAPE.search(device) for device in {r.device_id for r in readings}):
        for reading in readings:  # rare: let psycopg escape every field
            copy.write_row(reading)
    else:
        copy.write(copy_text(readings))


_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _time_range(readings: Sequence[Reading]) -> tuple[datetime, datetime]:
    times = [r.time for r in readings]
    return min(times), max(times)


@dataclass(frozen=True)
class TimescaleConfig:
    dsn: str
    min_connections: int = 1
    max_connections: int = 8
    connect_timeout_s: float = 5.0
    # How long a caller waits for a pooled connection before the store is reported unavailable.
    pool_timeout_s: float = 5.0
    # Raw telemetry older than this is dropped by run_maintenance (roll-ups are kept); None keeps all.
    raw_retention: timedelta | None = timedelta(days=730)


# InterfaceError: a connection that died under us (server shut down mid-transaction).
_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def _connect_kwargs(config: TimescaleConfig) -> dict[str, Any]:
    # Sessions in UTC so returned timestamps do not depend on the server's TimeZone setting. JIT off:
    # compiling a roll-up aggregation costs more (hundreds of ms) than running it.
    return {"connect_timeout": max(1, int(config.connect_timeout_s)), "options": "-c TimeZone=UTC -c jit=off"}


class TimescaleRepository(Repository):
    backend = "timescaledb"

    def __init__(self, pool: ConnectionPool[psycopg.Connection[TupleRow]], config: TimescaleConfig) -> None:
        self._pool = pool
        self._config = config
        self._closed = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, config: TimescaleConfig) -> TimescaleRepository:
        """Connect, make sure TimescaleDB is there, apply pending migrations."""
        try:
            with psycopg.connect(config.dsn, autocommit=True, **_connect_kwargs(config)) as conn:
                _ensure_timescaledb(conn)
                _migrate(conn)
        except _UNAVAILABLE as err:
            raise StoreUnavailableError(f"cannot connect to PostgreSQL: {err}") from err
        pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            config.dsn,
            min_size=config.min_connections,
            max_size=config.max_connections,
            timeout=config.pool_timeout_s,
            kwargs=_connect_kwargs(config),
            check=ConnectionPool.check_connection,
            open=True,
            name="shems-store",
        )
        return cls(pool, config)

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._pool.close()

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[TupleRow]]:
        """A pooled connection in a transaction; connection failures become StoreUnavailableError."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except _UNAVAILABLE as err:
            raise StoreUnavailableError(f"TimescaleDB unavailable: {err}") from err

    def schema_version(self) -> int:
        with self._conn() as conn:
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        return int(row[0]) if row else 0

    # -- homes and devices ---------------------------------------------------------------------------
    def upsert_home(self, home: Home) -> None:
        zone(home.timezone)
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO homes (id, name, timezone) VALUES (%s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone",
                (home.id, home.name, home.timezone),
            )

    def get_home(self, home_id: str) -> Home | None:
        with self._conn() as conn:
            row = conn.execute("SELECT id, name, timezone FROM homes WHERE id = %s", (home_id,)).fetchone()
        return Home(*row) if row else None

    def list_homes(self) -> list[Home]:
        with self._conn() as conn:
            rows = conn.execute("SELECT id, name, timezone FROM homes ORDER BY id").fetchall()
        return [Home(*r) for r in rows]

    _DEVICE_COLUMNS = "id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes"

    def upsert_device(self, device: Device) -> None:
        with self._conn() as conn:
            try:
                conn.execute(
                    "INSERT INTO devices (id, home_id, type, name, mqtt_topics, firmware, last_seen, "
                    "attributes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET home_id = EXCLUDED.home_id, type = EXCLUDED.type, "
                    "name = EXCLUDED.name, mqtt_topics = EXCLUDED.mqtt_topics, firmware = EXCLUDED.firmware, "
                    "last_seen = coalesce(EXCLUDED.last_seen, devices.last_seen), attributes = "
                    "EXCLUDED.attributes",
                    (
                        device.id,
                        device.home_id,
                        device.type.value,
                        device.name,
                        list(device.mqtt_topics),
                        device.firmware,
                        device.last_seen,
                        Jsonb(device.attributes),
                    ),
                )
            except psycopg.errors.ForeignKeyViolation as err:
                raise StoreError(f"device {device.id!r}: unknown home {device.home_id!r}") from err

    @staticmethod
    def _device(row: Sequence[Any]) -> Device:
        return Device(
            id=row[0],
            home_id=row[1],
            type=DeviceType(row[2]),
            name=row[3],
            mqtt_topics=tuple(row[4]),
            firmware=row[5],
            last_seen=row[6],
            attributes=dict(row[7]),
        )

    def get_device(self, device_id: str) -> Device | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes FROM "
                "devices WHERE id = %s",
                (device_id,),
            ).fetchone()
        return self._device(row) if row else None

    def list_devices(self, home_id: str | None = None) -> list[Device]:
        with self._conn() as conn:
            if home_id is None:
                rows = conn.execute(
                    "SELECT id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes FROM "
                    "devices ORDER BY id"
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, home_id, type, name, mqtt_topics, firmware, last_seen, attributes FROM "
                    "devices WHERE home_id = %s ORDER BY id",
                    (home_id,),
                ).fetchall()
        return [self._device(r) for r in rows]

    def delete_device(self, device_id: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute("DELETE FROM devices WHERE id = %s", (device_id,))
            return cur.rowcount > 0

    def touch_devices(self, last_seen: dict[str, datetime]) -> None:
        if not last_seen:
            return
        items = sorted(last_seen.items())
        for _, seen in items:
            require_aware(seen, "last_seen")
        with self._conn() as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE devices SET last_seen = %s WHERE id = %s AND (last_seen IS NULL OR last_seen < %s)",
                [(seen, device_id, seen) for device_id, seen in items],
            )

    # -- telemetry -----------------------------------------------------------------------------------
    def write_readings(self, readings: Sequence[Reading]) -> WriteResult:
        if not readings:
            return WriteResult(0, 0)
        try:
            with self._pool.connection() as conn:
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        with cur.copy(
                            "COPY energy_consumption (device_id, time, power_w, energy_kwh, voltage_v, "
                            "current_a) FROM STDIN"
                        ) as copy:
                            _write_copy(copy, readings)
                        cur.execute(_INVALIDATE, _time_range(readings))
                    return WriteResult(len(readings), len(readings))
                except psycopg.errors.UniqueViolation:
                    pass  # some rows are already stored: merge instead (below), same connection
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS shems_stage "
                        "(LIKE energy_consumption INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                    )
                    merged = _merge_duplicates(readings)
                    with cur.copy(
                        "COPY shems_stage (device_id, time, power_w, energy_kwh, voltage_v, current_a) "
                        "FROM STDIN"
                    ) as copy:
                        _write_copy(copy, merged)
                    cur.execute(_MERGE)
                    written = cur.rowcount
                    cur.execute(_INVALIDATE, _time_range(readings))
                    return WriteResult(len(readings), written)
        except _UNAVAILABLE as err:
            raise StoreUnavailableError(f"TimescaleDB unavailable while writing telemetry: {err}") from err

    def readings(
        self, device_id: str, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reading]:
        require_aware(start, "start")
        require_aware(end, "end")
        sql = (
            "SELECT device_id, time, power_w, energy_kwh, voltage_v, current_a FROM energy_consumption "
            "WHERE device_id = %s AND time >= %s AND time < %s ORDER BY time"
        )
        params: list[Any] = [device_id, start, end]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        with self._conn() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Reading(*r) for r in rows]

    def latest_readings(self, device_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        with self._conn() as conn:
            ids = (
                list(device_ids)
                if device_ids is not None
                else [r[0] for r in conn.execute("SELECT id FROM devices").fetchall()]
            )
            # The telemetry index is (time, device_id): find each device's newest 15-minute roll-up bucket
            # first (primary key (device_id, bucket)), then look for the reading only inside it, so a
            # device that has been silent for months does not scan the whole hypertable.
            refresh_pending(conn)
            rows = conn.execute(
                "SELECT l.* FROM unnest(%s::text[]) AS d(id) "
                "CROSS JOIN LATERAL (SELECT max(bucket) AS b FROM energy_15min m WHERE m.device_id = d.id) m "
                "CROSS JOIN LATERAL (SELECT device_id, time, power_w, energy_kwh, voltage_v, current_a "
                "FROM energy_consumption e WHERE e.device_id = d.id AND e.time >= m.b "
                "ORDER BY time DESC LIMIT 1) l",
                (ids,),
            ).fetchall()
        return {r[0]: Reading(*r) for r in rows}

    def count_readings(
        self, device_id: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> int:
        params = {
            "device": device_id,
            "start": None if start is None else require_aware(start, "start"),
            "end": None if end is None else require_aware(end, "end"),
        }
        with self._conn() as conn:
            row = conn.execute(
                "SELECT count(*) FROM energy_consumption WHERE (%(device)s::text IS NULL OR device_id = "
                "%(device)s) "
                "AND (%(start)s::timestamptz IS NULL OR time >= %(start)s) "
                "AND (%(end)s::timestamptz IS NULL OR time < %(end)s)",
                params,
            ).fetchone()
        return int(row[0]) if row else 0

    def refresh_aggregates(self, start: datetime, end: datetime) -> None:
        require_aware(start, "start")
        require_aware(end, "end")
        with self._conn() as conn:
            conn.execute(_INVALIDATE, (start, end))
            conn.commit()
            refresh_pending(conn)

    def run_maintenance(self, now: datetime) -> None:
        require_aware(now, "now")
        with self._conn() as conn:
            refresh_pending(conn)
            if self._config.raw_retention is not None:
                conn.execute(
                    "SELECT drop_chunks('energy_consumption', older_than => %s::timestamptz)",
                    (now - self._config.raw_retention,),
                )

    def _aggregate(
        self, device_ids: Sequence[str], start: datetime, end: datetime, granularity: Granularity, tz: str
    ) -> list[AggregateRow]:
        tzinfo = zone(tz)
        lo = local_bucket_start(start, granularity, tzinfo)
        last = local_bucket_start(end - timedelta(microseconds=1), granularity, tzinfo)
        hi = bucket_end(last, granularity, tzinfo)
        sql, params = _aggregate_sql(
            _source_for(granularity, tzinfo, lo, hi), granularity, tz, device_ids, lo, hi
        )
        with self._conn() as conn:
            refresh_pending(conn)
            # Binary results: about 3x faster to decode than text for tens of thousands of rows.
            rows = conn.cursor(binary=True).execute(sql, params).fetchall()
        return [
            AggregateRow(r[0], r[1], int(r[2]), int(r[3]), float(r[4]), float(r[5]), *r[6:]) for r in rows
        ]

    def _total(
        self, device_ids: Sequence[str], start: datetime, end: datetime, granularity: Granularity, tz: str
    ) -> list[ConsumptionBucket]:
        """Sum the devices in SQL (same rules as ``to_buckets`` + ``sum_buckets``): the database returns
        one row per bucket instead of one per device and bucket."""
        tzinfo = zone(tz)
        lo = local_bucket_start(start, granularity, tzinfo)
        hi = bucket_end(
            local_bucket_start(end - timedelta(microseconds=1), granularity, tzinfo), granularity, tzinfo
        )
        inner, params = _aggregate_sql(
            _source_for(granularity, tzinfo, lo, hi), granularity, tz, device_ids, lo, hi
        )
        # Power-based energy is a plain sum; only rows carrying a meter counter go through the window that
        # finds each device's previous counter value (none at all in a power-only installation).
        sql = SQL(
            "WITH per (device_id, b, samples, power_samples, import_kwh, export_kwh, avg_power, max_power, "
            "min_power, min_kwh, max_kwh) AS ({}), "
            "counters AS (SELECT b, power_samples, min_kwh, max_kwh, "
            "lag(max_kwh) OVER (PARTITION BY device_id ORDER BY b) AS prev_kwh FROM per WHERE max_kwh IS "
            "NOT NULL) "
            "SELECT b, sum(samples)::bigint, coalesce(sum(imp), 0), coalesce(sum(exp), 0), sum(avg_power) "
            "FROM ("
            "SELECT b, samples, CASE WHEN power_samples > 0 THEN import_kwh ELSE 0 END AS imp, "
            "CASE WHEN power_samples > 0 THEN export_kwh ELSE 0 END AS exp, avg_power FROM per "
            "UNION ALL SELECT b, 0, greatest(max_kwh - coalesce(prev_kwh, min_kwh), 0), 0, NULL FROM "
            "counters "
            "WHERE power_samples = 0) AS x GROUP BY b ORDER BY b"
        ).format(inner)
        with self._conn() as conn:
            refresh_pending(conn)
            rows = conn.cursor(binary=True).execute(sql, params).fetchall()
        return [
            ConsumptionBucket(
                device_id=TOTAL,
                start=r[0].astimezone(tzinfo),
                end=bucket_end(r[0].astimezone(tzinfo), granularity, tzinfo),
                samples=int(r[1]),
                avg_power_w=r[4],
                max_power_w=None,
                min_power_w=None,
                import_kwh=float(r[2]),
                export_kwh=float(r[3]),
            )
            for r in rows
        ]

    # -- device commands -----------------------------------------------------------------------------
    @staticmethod
    def _command(row: Sequence[Any]) -> DeviceCommand:
        return DeviceCommand(
            id=row[0],
            device_id=row[1],
            type=row[2],
            payload=row[3],
            status=CommandStatus(row[4]),
            created_at=row[5],
            correlation_id=row[6],
            sent_at=row[7],
            acked_at=row[8],
            finished_at=row[9],
            attempts=row[10],
            expires_at=row[11],
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
        with self._conn() as conn:
            try:
                conn.execute(
                    "INSERT INTO device_commands (id, device_id, type, payload, status, created_at, "
                    "correlation_id, expires_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        command.id,
                        device_id,
                        command_type,
                        Jsonb(payload),
                        command.status.value,
                        created_at,
                        correlation_id,
                        expires_at,
                    ),
                )
            except psycopg.errors.ForeignKeyViolation as err:
                raise StoreError(f"command for unknown device {device_id!r}") from err
            except psycopg.errors.UniqueViolation as err:
                raise StoreError(f"command id {command.id!r} already exists") from err
        return command

    def get_command(self, command_id: str) -> DeviceCommand | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT id, device_id, type, payload, status, created_at, correlation_id, sent_at, "
                "acked_at, finished_at, attempts, expires_at, error FROM device_commands WHERE id = %s",
                (command_id,),
            ).fetchone()
        return self._command(row) if row else None

    def list_commands(
        self,
        device_id: str | None = None,
        statuses: Iterable[CommandStatus] | None = None,
        limit: int = 100,
    ) -> list[DeviceCommand]:
        params = {
            "device": device_id,
            "statuses": None if statuses is None else [st.value for st in statuses],
            "limit": limit,
        }
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT id, device_id, type, payload, status, created_at, correlation_id, sent_at, acked_at, "
                "finished_at, attempts, expires_at, error FROM device_commands "
                "WHERE (%(device)s::text IS NULL OR device_id = %(device)s) "
                "AND (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s)) "
                "ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
                params,
            ).fetchall()
        return [self._command(r) for r in rows]

    def _write_command_status(self, command: DeviceCommand) -> None:
        with self._conn() as conn:
            conn.execute(
                "UPDATE device_commands SET status = %s, sent_at = %s, acked_at = %s, finished_at = %s, "
                "attempts = %s, error = %s WHERE id = %s",
                (
                    command.status.value,
                    command.sent_at,
                    command.acked_at,
                    command.finished_at,
                    command.attempts,
                    command.error,
                    command.id,
                ),
            )

    def record_command_error(self, command_id: str, at: datetime, attempt: int, message: str) -> None:
        with self._conn() as conn:
            try:
                conn.execute(
                    "INSERT INTO command_errors (command_id, time, attempt, message) VALUES (%s, %s, %s, %s)",
                    (command_id, require_aware(at, "error time"), attempt, message),
                )
            except psycopg.errors.ForeignKeyViolation as err:
                raise StoreError(f"error for unknown command {command_id!r}") from err

    def command_errors(self, command_id: str) -> list[CommandError]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT command_id, time, attempt, message FROM command_errors WHERE command_id = %s "
                "ORDER BY time, id",
                (command_id,),
            ).fetchall()
        return [CommandError(*r) for r in rows]

    # -- forecasts and plans -------------------------------------------------------------------------
    def save_forecast(self, forecast: Forecast) -> None:
        require_aware(forecast.issued_at, "forecast issued_at")
        with self._conn() as conn, conn.cursor() as cur:
            try:
                cur.execute(
                    "INSERT INTO forecasts (id, home_id, kind, device_id, issued_at, unit, source) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        forecast.id,
                        forecast.home_id,
                        forecast.kind.value,
                        forecast.device_id,
                        forecast.issued_at,
                        forecast.unit,
                        forecast.source,
                    ),
                )
            except psycopg.errors.ForeignKeyViolation as err:
                raise StoreError(f"forecast {forecast.id!r}: unknown home {forecast.home_id!r}") from err
            except psycopg.errors.UniqueViolation as err:
                raise StoreError(f"forecast id {forecast.id!r} already exists") from err
            with cur.copy("COPY forecast_points (forecast_id, time, p50, p10, p90) FROM STDIN") as copy:
                for p in forecast.points:
                    copy.write_row(
                        (forecast.id, require_aware(p.time, "forecast point time"), p.p50, p.p10, p.p90)
                    )

    def get_forecast(self, forecast_id: str) -> Forecast | None:
        with self._conn() as conn:
            head = conn.execute(
                "SELECT id, home_id, kind, issued_at, unit, source, device_id FROM forecasts WHERE id = %s",
                (forecast_id,),
            ).fetchone()
            if head is None:
                return None
            points = conn.execute(
                "SELECT time, p50, p10, p90 FROM forecast_points WHERE forecast_id = %s ORDER BY time",
                (forecast_id,),
            ).fetchall()
        return Forecast(
            id=head[0],
            home_id=head[1],
            kind=ForecastKind(head[2]),
            issued_at=head[3],
            unit=head[4],
            source=head[5],
            device_id=head[6],
            points=tuple(ForecastPoint(*p) for p in points),
        )

    def latest_forecast(
        self,
        home_id: str,
        kind: ForecastKind,
        issued_before: datetime | None = None,
        device_id: str | None = None,
    ) -> Forecast | None:
        sql = (
            "SELECT id FROM forecasts WHERE home_id = %s AND kind = %s AND device_id IS NOT DISTINCT FROM %s"
        )
        params: list[Any] = [home_id, kind.value, device_id]
        if issued_before is not None:
            sql += " AND issued_at <= %s"
            params.append(require_aware(issued_before, "issued_before"))
        sql += " ORDER BY issued_at DESC LIMIT 1"
        with self._conn() as conn:
            row = conn.execute(sql, params).fetchone()
        return self.get_forecast(row[0]) if row else None

    _PLAN_COLUMNS = "id, home_id, created_at, horizon_start, horizon_end, status, document, objective"

    def save_plan(self, plan: StoredPlan) -> None:
        for value, what in ((plan.created_at, "created_at"), (plan.horizon_start, "horizon_start")):
            require_aware(value, f"plan {what}")
        with self._conn() as conn:
            try:
                conn.execute(
                    "INSERT INTO plans (id, home_id, created_at, horizon_start, horizon_end, status, "
                    "document, objective) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        plan.id,
                        plan.home_id,
                        plan.created_at,
                        plan.horizon_start,
                        plan.horizon_end,
                        plan.status,
                        Jsonb(plan.document),
                        plan.objective,
                    ),
                )
            except psycopg.errors.ForeignKeyViolation as err:
                raise StoreError(f"plan {plan.id!r}: unknown home {plan.home_id!r}") from err
            except psycopg.errors.UniqueViolation as err:
                raise StoreError(f"plan id {plan.id!r} already exists") from err

    def get_plan(self, plan_id: str) -> StoredPlan | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT id, home_id, created_at, horizon_start, horizon_end, status, document, objective "
                "FROM plans WHERE id = %s",
                (plan_id,),
            ).fetchone()
        return StoredPlan(*row) if row else None

    def latest_plan(self, home_id: str) -> StoredPlan | None:
        plans = self.list_plans(home_id, limit=1)
        return plans[0] if plans else None

    def list_plans(
        self, home_id: str, since: datetime | None = None, limit: int = 50, before: datetime | None = None
    ) -> list[StoredPlan]:
        sql = (
            "SELECT id, home_id, created_at, horizon_start, horizon_end, status, document, objective FROM "
            "plans WHERE home_id = %s"
        )
        params: list[Any] = [home_id]
        if since is not None:
            sql += " AND created_at >= %s"
            params.append(require_aware(since, "since"))
        if before is not None:
            sql += " AND created_at < %s"
            params.append(require_aware(before, "before"))
        sql += " ORDER BY created_at DESC, id DESC LIMIT %s"
        params.append(limit)
        with self._conn() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [StoredPlan(*r) for r in rows]

    # -- schedules -----------------------------------------------------------------------------------
    _SCHEDULE_COLUMNS = "id, home_id, device_id, name, created_at, deadline, earliest_start, status, payload"

    def upsert_schedule(self, schedule: Schedule) -> None:
        require_aware(schedule.created_at, "schedule created_at")
        with self._conn() as conn:
            try:
                conn.execute(
                    "INSERT INTO schedules (id, home_id, device_id, name, created_at, deadline, "
                    "earliest_start, status, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET home_id = EXCLUDED.home_id, device_id = "
                    "EXCLUDED.device_id, "
                    "name = EXCLUDED.name, deadline = EXCLUDED.deadline, earliest_start = "
                    "EXCLUDED.earliest_start, "
                    "status = EXCLUDED.status, payload = EXCLUDED.payload",
                    (
                        schedule.id,
                        schedule.home_id,
                        schedule.device_id,
                        schedule.name,
                        schedule.created_at,
                        schedule.deadline,
                        schedule.earliest_start,
                        schedule.status.value,
                        Jsonb(schedule.payload),
                    ),
                )
            except psycopg.errors.ForeignKeyViolation as err:
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
            created_at=row[4],
            deadline=row[5],
            earliest_start=row[6],
            status=ScheduleStatus(row[7]),
            payload=dict(row[8]),
        )

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT id, home_id, device_id, name, created_at, deadline, earliest_start, status, "
                "payload FROM schedules WHERE id = %s",
                (schedule_id,),
            ).fetchone()
        return self._schedule(row) if row else None

    def list_schedules(self, home_id: str, status: ScheduleStatus | None = None) -> list[Schedule]:
        sql = (
            "SELECT id, home_id, device_id, name, created_at, deadline, earliest_start, status, payload "
            "FROM schedules WHERE home_id = %s"
        )
        params: list[Any] = [home_id]
        if status is not None:
            sql += " AND status = %s"
            params.append(status.value)
        with self._conn() as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [self._schedule(r) for r in rows]

    def delete_schedule(self, schedule_id: str) -> bool:
        with self._conn() as conn:
            return conn.execute("DELETE FROM schedules WHERE id = %s", (schedule_id,)).rowcount > 0


def _merge_duplicates(readings: Sequence[Reading]) -> list[Reading]:
    """One row per (device, time): later readings fill and override earlier ones' fields."""
    merged: dict[tuple[str, datetime], Reading] = {}
    for r in readings:
        key = (r.device_id, r.time)
        old = merged.get(key)
        if old is None:
            merged[key] = r
        else:
            merged[key] = Reading(
                r.device_id,
                r.time,
                r.power_w if r.power_w is not None else old.power_w,
                r.energy_kwh if r.energy_kwh is not None else old.energy_kwh,
                r.voltage_v if r.voltage_v is not None else old.voltage_v,
                r.current_a if r.current_a is not None else old.current_a,
            )
    return list(merged.values())


# Roll-up table -> the granularity its rows already are (UTC-aligned buckets).
_DIRECT = {
    "energy_15min": Granularity.MIN15,
    "energy_hourly": Granularity.HOUR,
    "energy_daily": Granularity.DAY,
}


_INTERVALS = {
    Granularity.MIN15: "15 minutes",
    Granularity.HOUR: "1 hour",
    Granularity.DAY: "1 day",
    Granularity.WEEK: "1 week",
    Granularity.MONTH: "1 month",
}


def _aggregate_sql(
    source: str, granularity: Granularity, tz: str, device_ids: Sequence[str], lo: datetime, hi: datetime
) -> tuple[Composed, tuple[Any, ...]]:
    """Per-device aggregate rows (AggregateRow column order) from roll-up ``source``."""
    if _DIRECT[source] is granularity:
        # _source_for only picks a roll-up whose buckets align with the local ones: no regrouping.
        sql = SQL(
            "SELECT device_id, bucket, samples, power_samples, import_kwh, export_kwh, "
            "sum_power_w / nullif(power_samples, 0), max_power_w, min_power_w, min_kwh, max_kwh FROM {} "
            "WHERE device_id = ANY(%s) AND bucket >= %s AND bucket < %s"
        ).format(Identifier(source))
        return sql, (list(device_ids), lo, hi)
    sql = SQL(
        "SELECT device_id, time_bucket(%s::interval, bucket, %s) AS b, sum(samples)::bigint, "
        "sum(power_samples)::bigint, coalesce(sum(import_kwh), 0), coalesce(sum(export_kwh), 0), "
        "sum(sum_power_w) / nullif(sum(power_samples), 0), max(max_power_w), min(min_power_w), "
        "min(min_kwh), max(max_kwh) FROM {} "
        "WHERE device_id = ANY(%s) AND bucket >= %s AND bucket < %s GROUP BY device_id, b"
    ).format(Identifier(source))
    return sql, (_INTERVALS[granularity], tz, list(device_ids), lo, hi)


def _source_for(granularity: Granularity, tz: Any, lo: datetime, hi: datetime) -> str:
    """The coarsest continuous aggregate whose buckets tile the requested local buckets."""
    if granularity is Granularity.MIN15:
        return "energy_15min"
    if granularity is not Granularity.HOUR and all(
        (probe.astimezone(tz).utcoffset() or timedelta()) == timedelta() for probe in _daily_probes(lo, hi)
    ):
        return "energy_daily"
    if has_whole_hour_offsets(tz, lo, hi):
        return "energy_hourly"
    return "energy_15min"


def _daily_probes(lo: datetime, hi: datetime) -> Iterator[datetime]:
    probe = lo
    while probe < hi:
        yield probe
        probe += timedelta(days=1)
    yield hi


def _ensure_timescaledb(conn: psycopg.Connection[TupleRow]) -> None:
    """Create the extension if needed and allowed; otherwise explain what is missing. Changes nothing else."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
        return
    if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone():
        raise StoreError(
            "the PostgreSQL server has no TimescaleDB extension (timescaledb is not in "
            "pg_available_extensions): "
            "install TimescaleDB on the server, or choose the embedded store (storage: embedded); "
            "no table was created"
        )
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as err:
        raise StoreError(
            f"TimescaleDB is installed but could not be enabled in this database ({err}); "
            "run 'CREATE EXTENSION timescaledb;' as a superuser (and make sure shared_preload_libraries "
            "contains 'timescaledb'); no table was created"
        ) from err


def _migrate(conn: psycopg.Connection[TupleRow]) -> None:
    """Apply pending migrations, each in one transaction with its version row, under an advisory lock."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            todo = pending(MIGRATIONS, int(row[0]) if row else 0)
            if not todo:
                return
            migration = todo[0]
            _LOG.info("applying store migration %d: %s", migration.version, migration.name)
            for statement in migration.statements:
                try:
                    conn.execute(statement)
                except psycopg.Error as err:
                    raise StoreError(
                        f"migration {migration.version} ({migration.name}) failed and was rolled back: {err}"
                    ) from err
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
