"""Turning per-bucket aggregates into consumption buckets, shared by both back-ends.

Back-ends return :class:`AggregateRow` values at the requested granularity (TimescaleDB from its
continuous aggregates, SQLite from its readings table). The rules that turn them into energy live here,
once, so both back-ends answer the same numbers:

* energy from power: average power of a base bucket (15 min or 1 h) times its length; a longer bucket
  sums its base buckets. Missing samples inside a base bucket are assumed to continue its average; a base
  bucket without samples contributes nothing.
* energy from a cumulative counter (only when a device sent no power in that bucket): the counter's
  increase since the last counter value of an earlier bucket in the answer (within the bucket for the
  first one). A decrease is a meter reset and counts as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from shems_optimizer.app.records.models import ConsumptionBucket, Granularity, StoreError

FIXED_BUCKETS: dict[Granularity, timedelta] = {
    Granularity.MIN15: timedelta(minutes=15),
    Granularity.HOUR: timedelta(hours=1),
}


_WALL_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


class AggregateRow(NamedTuple):
    device_id: str
    start: datetime
    samples: int
    power_samples: int
    import_kwh: float
    export_kwh: float
    avg_power_w: float | None
    max_power_w: float | None
    min_power_w: float | None
    min_kwh: float | None
    max_kwh: float | None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as err:
        raise StoreError(f"unknown time zone {name!r}") from err


def local_bucket_start(instant: datetime, granularity: Granularity, tz: ZoneInfo) -> datetime:
    """Start (aware, in ``tz``) of the calendar bucket holding ``instant``."""
    local = instant.astimezone(tz)
    if granularity in FIXED_BUCKETS:
        step = FIXED_BUCKETS[granularity]
        offset = local.utcoffset() or timedelta()
        # Align on local wall-clock multiples, which equals UTC alignment for whole-hour offsets.
        wall = local.replace(tzinfo=UTC)  # the wall-clock reading, as if it were UTC
        floored = _WALL_ORIGIN + ((wall - _WALL_ORIGIN) // step) * step
        return (floored - offset).astimezone(tz)
    day = local.date()
    if granularity is Granularity.WEEK:
        day = day - timedelta(days=day.weekday())
    elif granularity is Granularity.MONTH:
        day = day.replace(day=1)
    elif granularity is not Granularity.DAY:
        raise StoreError(f"granularity {granularity.value!r} has no calendar bucket")
    return _local_midnight(day, tz)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def bucket_end(start: datetime, granularity: Granularity, tz: ZoneInfo) -> datetime:
    """End of the bucket that starts at ``start``; calendar buckets follow local days (23 h/25 h at DST)."""
    if granularity in FIXED_BUCKETS:
        return (start.astimezone(UTC) + FIXED_BUCKETS[granularity]).astimezone(tz)
    day = start.astimezone(tz).date()
    if granularity is Granularity.DAY:
        nxt = day + timedelta(days=1)
    elif granularity is Granularity.WEEK:
        nxt = day + timedelta(days=7)
    elif granularity is Granularity.MONTH:
        nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    else:
        raise StoreError(f"granularity {granularity.value!r} has no bucket end")
    return _local_midnight(nxt, tz)


def has_whole_hour_offsets(tz: ZoneInfo, start: datetime, end: datetime) -> bool:
    """True when every UTC offset of ``tz`` in [start, end] is a whole number of hours."""
    probe = start
    while True:
        offset = probe.astimezone(tz).utcoffset() or timedelta()
        if offset % timedelta(hours=1):
            return False
        if probe >= end:
            return True
        probe = min(probe + timedelta(days=1), end)


def rebucket(rows: Iterable[AggregateRow], granularity: Granularity, tz: ZoneInfo) -> list[AggregateRow]:
    """Group finer aggregate rows into ``granularity`` buckets of local time (used by SQLite)."""
    # Keys are UTC instants: aware datetimes sharing a zone compare by wall clock, so the two local
    # 02:00 hours of an autumn DST day would otherwise fall into one bucket.
    groups: dict[tuple[str, datetime], list[AggregateRow]] = {}
    for row in rows:
        key = (row.device_id, local_bucket_start(row.start, granularity, tz).astimezone(UTC))
        groups.setdefault(key, []).append(row)
    merged: list[AggregateRow] = []
    for (device_id, start), members in groups.items():
        power_samples = sum(m.power_samples for m in members)
        weighted = [(m.avg_power_w, m.power_samples) for m in members if m.avg_power_w is not None]
        avg = sum(a * n for a, n in weighted) / power_samples if power_samples else None
        maxes = [m.max_power_w for m in members if m.max_power_w is not None]
        mins = [m.min_power_w for m in members if m.min_power_w is not None]
        kwh_min = [m.min_kwh for m in members if m.min_kwh is not None]
        kwh_max = [m.max_kwh for m in members if m.max_kwh is not None]
        merged.append(
            AggregateRow(
                device_id=device_id,
                start=start,
                samples=sum(m.samples for m in members),
                power_samples=power_samples,
                import_kwh=sum(m.import_kwh for m in members),
                export_kwh=sum(m.export_kwh for m in members),
                avg_power_w=avg,
                max_power_w=max(maxes) if maxes else None,
                min_power_w=min(mins) if mins else None,
                min_kwh=min(kwh_min) if kwh_min else None,
                max_kwh=max(kwh_max) if kwh_max else None,
            )
        )
    return merged


def to_buckets(
    rows: Sequence[AggregateRow], granularity: Granularity, tz: ZoneInfo
) -> list[ConsumptionBucket]:
    """Apply the energy rules (module docstring) and sort by device, then time."""
    ordered = sorted(rows, key=lambda r: (r.device_id, r.start))
    step = FIXED_BUCKETS.get(granularity)
    utc = tz.key == "UTC"  # the common case: skip per-row time zone conversions
    buckets: list[ConsumptionBucket] = []
    append = buckets.append
    device: str | None = None
    last_counter: float | None = None  # the device's counter at the end of its previous counter bucket
    for row in ordered:
        if row.device_id != device:
            device, last_counter = row.device_id, None
        import_kwh, export_kwh = row.import_kwh, row.export_kwh
        if row.power_samples == 0 and row.max_kwh is not None:
            base = last_counter if last_counter is not None else row.min_kwh
            increase = row.max_kwh - (base if base is not None else row.max_kwh)
            import_kwh, export_kwh = max(increase, 0.0), 0.0
        if row.max_kwh is not None:
            last_counter = row.max_kwh
        if utc and step is not None:
            start, end = row.start, row.start + step
        else:
            start = row.start.astimezone(tz)
            end = bucket_end(start, granularity, tz)
        append(
            ConsumptionBucket(
                row.device_id,
                start,
                end,
                row.samples,
                row.avg_power_w,
                row.max_power_w,
                row.min_power_w,
                import_kwh,
                export_kwh,
            )
        )
    return buckets


TOTAL = "*"  # device_id of a summed series (ConsumptionQuery.total)


def sum_buckets(buckets: Sequence[ConsumptionBucket]) -> list[ConsumptionBucket]:
    """One bucket per start time, summing every device's bucket (see ``ConsumptionQuery.total``)."""
    groups: dict[datetime, list[ConsumptionBucket]] = {}  # keyed by UTC instant (see rebucket)
    for b in buckets:
        groups.setdefault(b.start.astimezone(UTC), []).append(b)
    totals = []
    for _, members in sorted(groups.items()):
        start = members[0].start
        powers = [m.avg_power_w for m in members if m.avg_power_w is not None]
        totals.append(
            ConsumptionBucket(
                device_id=TOTAL,
                start=start,
                end=members[0].end,
                samples=sum(m.samples for m in members),
                avg_power_w=sum(powers) if powers else None,
                max_power_w=None,
                min_power_w=None,
                import_kwh=sum(m.import_kwh for m in members),
                export_kwh=sum(m.export_kwh for m in members),
            )
        )
    return totals
