"""Incremental roll-ups for TimescaleDB: 15-minute, hourly and daily aggregates kept up to date by SHEMS.

Why not native continuous aggregates: they belong to TimescaleDB's community (TSL) edition, which the
Apache-2 builds shipped by Debian and others do not include. This module gives the same result with plain
SQL (see :mod:`shems_optimizer.adapters.store.timescale_schema`).

Each write records the [lo, hi] time range it touched. :func:`refresh_pending` takes all recorded ranges
(deleting them in the same transaction, under an advisory lock so refreshers never overlap), merges
them, and recomputes each level only for the buckets those ranges touch: 15-minute buckets from raw
rows, hours from 15-minute rows, days from hours. A range recorded while a refresh runs stays for the
next one, so nothing is missed; recomputing a bucket twice gives the same rows.

Energy from power is computed once, per 15-minute bucket (average power x 0.25 h); hours and days sum
it, so every granularity agrees (rules in :mod:`shems_optimizer.app.records.aggregation`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow
from psycopg.sql import SQL, Composed, Identifier, Literal

REFRESH_LOCK = 0x5E45_0002

_FROM_RAW = """
INSERT INTO energy_15min
SELECT time_bucket(INTERVAL '15 minutes', time) AS bucket,
    device_id,
    count(*),
    count(power_w),
    sum(power_w),
    coalesce(sum(CASE WHEN power_w > 0 THEN power_w ELSE 0 END) / nullif(count(power_w), 0), 0) * 0.00025,
    coalesce(sum(CASE WHEN power_w < 0 THEN -power_w ELSE 0 END) / nullif(count(power_w), 0), 0) * 0.00025,
    max(power_w),
    min(power_w),
    min(energy_kwh),
    max(energy_kwh)
FROM energy_consumption
WHERE time >= %(lo)s AND time < %(hi)s
GROUP BY 1, device_id
"""


def _roll(target: str, source: str, interval: str) -> Composed:
    return SQL("""
INSERT INTO {target}
SELECT time_bucket({interval}::interval, bucket) AS b,
    device_id,
    sum(samples), sum(power_samples), sum(sum_power_w), sum(import_kwh), sum(export_kwh),
    max(max_power_w), min(min_power_w), min(min_kwh), max(max_kwh)
FROM {source}
WHERE bucket >= %(lo)s AND bucket < %(hi)s
GROUP BY 1, device_id
""").format(target=Identifier(target), source=Identifier(source), interval=Literal(interval))


# (table, bucket length, statement computing it for [lo, hi)) from finest to coarsest.
_LEVELS: tuple[tuple[str, timedelta, SQL | Composed], ...] = (
    ("energy_15min", timedelta(minutes=15), SQL(_FROM_RAW)),
    ("energy_hourly", timedelta(hours=1), _roll("energy_hourly", "energy_15min", "1 hour")),
    ("energy_daily", timedelta(days=1), _roll("energy_daily", "energy_hourly", "1 day")),
)


def _floor(value: datetime, step: timedelta) -> datetime:
    origin = datetime(2000, 1, 1, tzinfo=value.tzinfo)
    return origin + ((value - origin) // step) * step


def _ceil(value: datetime, step: timedelta) -> datetime:
    floored = _floor(value, step)
    return floored if floored == value else floored + step


def merge_ranges(ranges: list[tuple[datetime, datetime]], step: timedelta) -> list[tuple[datetime, datetime]]:
    """Widen ranges to whole ``step`` buckets ([lo, hi] inclusive of hi) and merge overlapping ones."""
    widened = sorted((_floor(lo, step), _ceil(hi + timedelta(microseconds=1), step)) for lo, hi in ranges)
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in widened:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def refresh_pending(conn: psycopg.Connection[TupleRow]) -> int:
    """Recompute the roll-ups for every recorded range; returns how many ranges were processed."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK,))
        rows = conn.execute("DELETE FROM rollup_invalidations RETURNING lo, hi").fetchall()
        if not rows:
            return 0
        ranges = [(lo, hi) for lo, hi in rows]
        for table, step, statement in _LEVELS:
            for lo, hi in merge_ranges(ranges, step):
                bounds = {"lo": lo, "hi": hi}
                delete = SQL("DELETE FROM {} WHERE bucket >= %(lo)s AND bucket < %(hi)s").format(
                    Identifier(table)
                )
                conn.execute(delete, bounds)
                conn.execute(statement, bounds)
        return len(rows)
