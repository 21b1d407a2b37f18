"""TimescaleDB's own SQL under the shared layer: bulk ingest with ``COPY``, roll-up aggregate queries.

These run on the psycopg connection beneath the SQL layer's (:mod:`shems_optimizer.adapters.store.timescale`):
``COPY`` has no SQLAlchemy construct and is several times faster than any ``INSERT`` for telemetry
batches, and the aggregate queries are read with psycopg's binary cursor (about 3x faster to decode than
text for tens of thousands of rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.sql import SQL, Composed, Identifier

from shems_optimizer.app.records.aggregation import has_whole_hour_offsets
from shems_optimizer.app.records.models import Granularity, Reading, StoreError

MERGE = (
    "INSERT INTO energy_consumption AS t (device_id, time, power_w, energy_kwh, voltage_v, current_a) "
    "SELECT device_id, time, power_w, energy_kwh, voltage_v, current_a FROM shems_stage "
    "ON CONFLICT (time, device_id) DO UPDATE SET "
    "power_w = coalesce(EXCLUDED.power_w, t.power_w), "
    "energy_kwh = coalesce(EXCLUDED.energy_kwh, t.energy_kwh), "
    "voltage_v = coalesce(EXCLUDED.voltage_v, t.voltage_v), "
    "current_a = coalesce(EXCLUDED.current_a, t.current_a)"
)

INVALIDATE = "INSERT INTO rollup_invalidations (lo, hi) VALUES (%s, %s)"


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


def write_copy(copy: psycopg.Copy, readings: Sequence[Reading]) -> None:
    if any(_NEEDS_ESCAPE.search(device) for device in {r.device_id for r in readings}):
        for reading in readings:  # rare: let psycopg escape every field
            copy.write_row(reading)
    else:
        copy.write(copy_text(readings))


_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def time_range(readings: Sequence[Reading]) -> tuple[datetime, datetime]:
    times = [r.time for r in readings]
    return min(times), max(times)


def merge_duplicates(readings: Sequence[Reading]) -> list[Reading]:
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


def aggregate_sql(
    source: str, granularity: Granularity, tz: str, device_ids: Sequence[str], lo: datetime, hi: datetime
) -> tuple[Composed, tuple[Any, ...]]:
    """Per-device aggregate rows (AggregateRow column order) from roll-up ``source``."""
    if _DIRECT[source] is granularity:
        # source_for only picks a roll-up whose buckets align with the local ones: no regrouping.
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


def source_for(granularity: Granularity, tz: Any, lo: datetime, hi: datetime) -> str:
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


def ensure_timescaledb(conn: psycopg.Connection[TupleRow]) -> None:
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


def total_sql(inner: Composed) -> Composed:
    """The summed series of ``inner`` (an :func:`aggregate_sql`), by the rules of ``to_buckets`` +
    ``sum_buckets``: the database returns one row per bucket instead of one per device and bucket.

    Power-based energy is a plain sum; only rows carrying a meter counter go through the window that finds
    each device's previous counter value (none at all in a power-only installation).
    """
    return SQL(
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
