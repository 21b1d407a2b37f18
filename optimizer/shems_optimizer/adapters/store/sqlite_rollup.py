"""The embedded store's 15-minute roll-up: what consumption questions read instead of raw readings.

A day of 10-s readings from four meters is 35,000 rows; aggregating them for every uncached question
kept the store's single thread busy for 10-20 ms per answer, and 200 clients queued behind it. Each
write therefore recomputes, in its own transaction, the 15-minute rows of the buckets it touched (from
the raw rows, so a reading sent twice or corrected later gives the same result), and questions read
those rows: 96 per meter and day.

A bucket is the 15-minute interval [b, b + 15 min) holding the reading (floor division, also before
1970), so asking for buckets in [lo, hi) is asking for readings in [lo, hi): the raw query's answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

BASE_US = 15 * 60 * 1_000_000

# Column order shared by the roll-up table and the raw aggregate it replaces.
_AGGREGATE_COLUMNS = (
    "count(*), count(power_w), sum(power_w), "
    "coalesce(sum(CASE WHEN power_w > 0 THEN power_w ELSE 0 END), 0), "
    "coalesce(sum(CASE WHEN power_w < 0 THEN -power_w ELSE 0 END), 0), "
    "max(power_w), min(power_w), min(energy_kwh), max(energy_kwh)"
)

CREATE_TABLE = """CREATE TABLE energy_15min (
    device_id TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    power_samples INTEGER NOT NULL,
    sum_power_w REAL,
    sum_import_w REAL NOT NULL,
    sum_export_w REAL NOT NULL,
    max_power_w REAL,
    min_power_w REAL,
    min_kwh REAL,
    max_kwh REAL,
    PRIMARY KEY (device_id, bucket)
) WITHOUT ROWID"""

# SQLite's % keeps the dividend's sign; adding the base once more makes it floor division.
_FLOOR = f"time - ((time % {BASE_US}) + {BASE_US}) % {BASE_US}"

# Built from this module's constants only; no value from outside goes into the text.
BACKFILL = (
    f"INSERT INTO energy_15min SELECT device_id, {_FLOOR} AS b, {_AGGREGATE_COLUMNS} "  # noqa: S608
    "FROM energy_consumption GROUP BY device_id, b"
)

_RECOMPUTE = (
    f"INSERT INTO energy_15min SELECT device_id, :bucket, {_AGGREGATE_COLUMNS} "  # noqa: S608
    "FROM energy_consumption "
    "WHERE device_id = :device AND time >= :bucket AND time < :bucket + :base GROUP BY device_id "
    "ON CONFLICT (device_id, bucket) DO UPDATE SET samples = excluded.samples, "
    "power_samples = excluded.power_samples, sum_power_w = excluded.sum_power_w, "
    "sum_import_w = excluded.sum_import_w, sum_export_w = excluded.sum_export_w, "
    "max_power_w = excluded.max_power_w, min_power_w = excluded.min_power_w, "
    "min_kwh = excluded.min_kwh, max_kwh = excluded.max_kwh"
)

HOUR_US = 3600 * 1_000_000

# Roll-up rows grouped into steps of :step µs (15 min: as stored; 1 h: whole UTC hours), in the raw
# aggregate's columns: device, step start, samples, power samples, sum of power, import and export kWh
# (per 15-minute bucket: average power over its samples times 15 min, then summed), max/min power,
# min/max counter. At the stored step the rows are read as they are: grouping them into themselves
# (a temporary B-tree per query) doubled the cost of a 15-minute question. Only one branch of the
# UNION ALL has rows; SQLite tests the constant ``:step`` condition once per branch.
SELECT_RANGE = (  # 900000000 µs: BASE_US, the stored step
    "SELECT device_id, bucket, samples, power_samples, sum_power_w, "
    "coalesce(sum_import_w / nullif(power_samples, 0), 0) * 0.00025, "
    "coalesce(sum_export_w / nullif(power_samples, 0), 0) * 0.00025, "
    "max_power_w, min_power_w, min_kwh, max_kwh FROM energy_15min WHERE :step = 900000000 AND "
    "device_id IN (SELECT value FROM json_each(:devices)) AND bucket >= :lo AND bucket < :hi "
    "UNION ALL "
    "SELECT device_id, bucket - ((bucket % :step) + :step) % :step AS b, sum(samples), "
    "sum(power_samples), sum(sum_power_w), "
    "sum(coalesce(sum_import_w / nullif(power_samples, 0), 0)) * 0.00025, "
    "sum(coalesce(sum_export_w / nullif(power_samples, 0), 0)) * 0.00025, "
    "max(max_power_w), min(min_power_w), min(min_kwh), max(max_kwh) FROM energy_15min "
    "WHERE :step <> 900000000 AND "
    "device_id IN (SELECT value FROM json_each(:devices)) AND bucket >= :lo AND bucket < :hi "
    "GROUP BY device_id, b"
)
assert str(BASE_US) in SELECT_RANGE


def bucket_of(time_us: int) -> int:
    return time_us // BASE_US * BASE_US


def recompute(db: sqlite3.Connection, touched: Iterable[tuple[str, int]]) -> None:
    """Rewrite the roll-up rows of the given (device, time in µs) readings' buckets."""
    buckets = sorted({(device_id, bucket_of(time_us)) for device_id, time_us in touched})
    db.executemany(
        _RECOMPUTE, [{"base": BASE_US, "device": device, "bucket": bucket} for device, bucket in buckets]
    )
