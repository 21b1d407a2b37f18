"""Consumption buckets with hand-checkable numbers, against both back-ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shems_optimizer.app.records.aggregation import TOTAL
from shems_optimizer.app.records.models import Granularity, Reading, StoreError
from shems_optimizer.app.records.repository import ConsumptionQuery, Repository

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 01:00 in Paris


def _steady(device: str, start: datetime, hours: float, power_w: float, every_s: int = 60) -> list[Reading]:
    count = int(hours * 3600 / every_s)
    return [Reading(device, start + timedelta(seconds=every_s * i), power_w) for i in range(count)]


def _query(
    repo: Repository,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    *devices: str,
    tz: str | None = None,
) -> list[tuple[str, datetime, float, float]]:
    buckets = repo.consumption(ConsumptionQuery(start, end, granularity, devices, timezone=tz))
    return [(b.device_id, b.start, round(b.import_kwh, 9), round(b.export_kwh, 9)) for b in buckets]


@pytest.mark.parametrize(
    ("granularity", "expected_count", "kwh_each"),
    [(Granularity.MIN15, 8, 0.25), (Granularity.HOUR, 2, 1.0)],
)
def test_fixed_buckets_of_a_steady_load(
    home_with_devices: Repository, granularity: Granularity, expected_count: int, kwh_each: float
) -> None:
    repo = home_with_devices
    repo.write_readings(_steady("hp", T0, 2, 1000.0))
    rows = _query(repo, T0, T0 + timedelta(hours=2), granularity, "hp")
    assert len(rows) == expected_count
    assert {r[2] for r in rows} == {kwh_each}
    assert rows[0][1] == T0


def test_a_local_day_collects_both_hours_and_exports_are_separate(home_with_devices: Repository) -> None:
    repo = home_with_devices
    repo.write_readings(_steady("hp", T0, 2, 1000.0) + _steady("pv", T0, 1, -2000.0))
    day_start = datetime(2026, 3, 2, tzinfo=PARIS)
    rows = _query(
        repo, day_start, day_start + timedelta(days=1), Granularity.DAY, "hp", "pv", tz="Europe/Paris"
    )
    assert rows == [("hp", day_start, 2.0, 0.0), ("pv", day_start, 0.0, 2.0)]


def test_home_query_uses_the_home_time_zone_and_all_its_devices(home_with_devices: Repository) -> None:
    repo = home_with_devices
    # 23:30 UTC on March 1st is 00:30 on March 2nd in Paris: same local day as T0.
    repo.write_readings(_steady("hp", T0 - timedelta(minutes=30), 1, 1000.0))
    buckets = repo.consumption(
        ConsumptionQuery(T0 - timedelta(hours=1), T0 + timedelta(hours=1), Granularity.DAY, home_id="home-1")
    )
    assert [(b.device_id, b.start, b.end, b.import_kwh) for b in buckets] == [
        ("hp", datetime(2026, 3, 2, tzinfo=PARIS), datetime(2026, 3, 3, tzinfo=PARIS), pytest.approx(1.0))
    ]
    assert buckets[0].samples == 60
    assert buckets[0].avg_power_w == pytest.approx(1000.0)


def test_dst_spring_forward_day_has_23_hours(home_with_devices: Repository) -> None:
    repo = home_with_devices
    day = datetime(2026, 3, 29, tzinfo=PARIS)
    next_day = datetime(2026, 3, 30, tzinfo=PARIS)
    # Subtract in UTC: Python subtracts same-zone datetimes by wall clock.
    assert next_day.astimezone(UTC) - day.astimezone(UTC) == timedelta(hours=23)
    repo.write_readings(_steady("hp", day.astimezone(UTC), 23, 1000.0, every_s=900))
    buckets = repo.consumption(
        ConsumptionQuery(day, next_day, Granularity.DAY, ("hp",), timezone="Europe/Paris")
    )
    assert len(buckets) == 1
    assert buckets[0].end.astimezone(UTC) - buckets[0].start.astimezone(UTC) == timedelta(hours=23)
    assert buckets[0].import_kwh == pytest.approx(23.0)
    assert buckets[0].samples == 92


@pytest.mark.parametrize(
    ("granularity", "count", "kwh_each"), [(Granularity.MIN15, 16, 0.25), (Granularity.HOUR, 4, 1.0)]
)
@pytest.mark.parametrize("total", [False, True])
def test_dst_fall_back_keeps_both_local_two_oclock_hours(
    home_with_devices: Repository, granularity: Granularity, count: int, kwh_each: float, total: bool
) -> None:
    """On 2026-10-25 Paris shows 02:00-03:00 twice; each is its own bucket, nothing is merged."""
    repo = home_with_devices
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 CEST
    end = start + timedelta(hours=4)  # 04:00 CET: 01, 02 (CEST), 02 (CET), 03
    repo.write_readings(_steady("hp", start, 4, 1000.0, every_s=300))
    buckets = repo.consumption(
        ConsumptionQuery(start, end, granularity, ("hp",), timezone="Europe/Paris", total=total)
    )
    assert len(buckets) == count
    assert [b.import_kwh for b in buckets] == pytest.approx([kwh_each] * count)
    starts = [b.start.astimezone(UTC) for b in buckets]
    step = (end - start) / count
    assert starts == [start + step * i for i in range(count)]
    assert all(b.end.astimezone(UTC) - b.start.astimezone(UTC) == step for b in buckets)
    local_hours = [b.start.astimezone(PARIS).strftime("%H:%M%z") for b in buckets][:: count // 4]
    assert local_hours == ["01:00+0200", "02:00+0200", "02:00+0100", "03:00+0100"]


def test_weeks_start_on_monday_and_months_on_the_first(home_with_devices: Repository) -> None:
    repo = home_with_devices
    sunday = datetime(2026, 3, 1, 12, tzinfo=PARIS)  # Sunday: week of Mon 23 Feb; month of March
    saturday = datetime(2026, 2, 28, 12, tzinfo=PARIS)  # same week, February
    monday = datetime(2026, 3, 2, 12, tzinfo=PARIS)  # next week, March
    for start, watts in ((saturday, 1000.0), (sunday, 2000.0), (monday, 4000.0)):
        repo.write_readings(_steady("hp", start.astimezone(UTC), 1, watts))
    lo, hi = datetime(2026, 2, 1, tzinfo=PARIS), datetime(2026, 4, 1, tzinfo=PARIS)
    weeks = _query(repo, lo, hi, Granularity.WEEK, "hp", tz="Europe/Paris")
    assert weeks == [
        ("hp", datetime(2026, 2, 23, tzinfo=PARIS), 3.0, 0.0),
        ("hp", datetime(2026, 3, 2, tzinfo=PARIS), 4.0, 0.0),
    ]
    months = _query(repo, lo, hi, Granularity.MONTH, "hp", tz="Europe/Paris")
    assert months == [
        ("hp", datetime(2026, 2, 1, tzinfo=PARIS), 1.0, 0.0),
        ("hp", datetime(2026, 3, 1, tzinfo=PARIS), 6.0, 0.0),
    ]


def test_counter_only_device_uses_meter_increase(home_with_devices: Repository) -> None:
    repo = home_with_devices
    counter = [(0, 10.0), (30, 10.2), (60, 10.5), (90, 11.0)]
    repo.write_readings([Reading("grid", T0 + timedelta(minutes=m), energy_kwh=kwh) for m, kwh in counter])
    rows = _query(repo, T0, T0 + timedelta(hours=2), Granularity.HOUR, "grid")
    # Hour 1: 10.0 -> 10.2 inside the bucket; hour 2: from the previous bucket's last value 10.2 to 11.0.
    assert rows == [("grid", T0, 0.2, 0.0), ("grid", T0 + timedelta(hours=1), 0.8, 0.0)]


def test_total_series_sums_devices_including_counter_only_ones(home_with_devices: Repository) -> None:
    repo = home_with_devices
    counter = [(0, 10.0), (30, 10.2), (60, 10.5), (90, 11.0)]
    repo.write_readings(
        _steady("hp", T0, 2, 1000.0)
        + _steady("pv", T0, 1, -2000.0)
        + [Reading("grid", T0 + timedelta(minutes=m), energy_kwh=kwh) for m, kwh in counter]
    )
    buckets = repo.consumption(
        ConsumptionQuery(T0, T0 + timedelta(hours=2), Granularity.HOUR, ("hp", "pv", "grid"), total=True)
    )
    assert [
        (b.device_id, b.start, round(b.import_kwh, 9), round(b.export_kwh, 9), b.avg_power_w) for b in buckets
    ] == [
        (TOTAL, T0, 1.2, 2.0, -1000.0),  # hp 1 kWh + grid counter 0.2 kWh; PV exports 2 kWh
        (TOTAL, T0 + timedelta(hours=1), 1.8, 0.0, 1000.0),  # hp 1 kWh + counter 10.2 -> 11.0
    ]
    assert [b.samples for b in buckets] == [60 + 60 + 2, 60 + 2]
    assert all(b.max_power_w is None for b in buckets)
    days = repo.consumption(
        ConsumptionQuery(T0, T0 + timedelta(hours=2), Granularity.DAY, home_id="home-1", total=True)
    )
    assert [(b.start, round(b.import_kwh, 9)) for b in days] == [(datetime(2026, 3, 2, tzinfo=PARIS), 3.0)]


@pytest.mark.parametrize("total", [False, True])
def test_counter_increase_spans_hours_without_data(home_with_devices: Repository, total: bool) -> None:
    repo = home_with_devices
    counter = [(0, 10.0), (30, 10.2), (150, 11.0)]  # nothing between 00:30 and 02:30
    repo.write_readings([Reading("grid", T0 + timedelta(minutes=m), energy_kwh=kwh) for m, kwh in counter])
    buckets = repo.consumption(
        ConsumptionQuery(T0, T0 + timedelta(hours=3), Granularity.HOUR, ("grid",), total=total)
    )
    assert [(b.start, round(b.import_kwh, 9)) for b in buckets] == [(T0, 0.2), (T0 + timedelta(hours=2), 0.8)]


def test_late_data_is_included_after_an_earlier_query(home_with_devices: Repository) -> None:
    """A backfill into an already-aggregated bucket shows up in the next answer."""
    repo = home_with_devices
    repo.write_readings(_steady("hp", T0, 0.5, 1000.0))
    assert _query(repo, T0, T0 + timedelta(hours=1), Granularity.HOUR, "hp") == [("hp", T0, 0.5, 0.0)]
    repo.write_readings(_steady("hp", T0 + timedelta(minutes=30), 0.5, 3000.0))
    assert _query(repo, T0, T0 + timedelta(hours=1), Granularity.HOUR, "hp") == [("hp", T0, 2.0, 0.0)]
    repo.refresh_aggregates(T0, T0 + timedelta(hours=1))
    repo.run_maintenance(T0 + timedelta(hours=1))
    assert _query(repo, T0, T0 + timedelta(hours=1), Granularity.HOUR, "hp") == [("hp", T0, 2.0, 0.0)]


def test_missing_15min_buckets_count_as_zero(home_with_devices: Repository) -> None:
    repo = home_with_devices
    # Samples only in the first quarter hour: 1 kW for 15 min = 0.25 kWh for the hour.
    repo.write_readings(_steady("hp", T0, 0.25, 1000.0))
    assert _query(repo, T0, T0 + timedelta(hours=1), Granularity.HOUR, "hp") == [("hp", T0, 0.25, 0.0)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"start": T0, "end": T0, "granularity": Granularity.HOUR, "device_ids": ("hp",)},
            "must be after start",
        ),
        ({"start": T0, "end": T0 + timedelta(hours=1), "granularity": Granularity.RAW}, "readings"),
        ({"start": datetime(2026, 1, 1), "end": T0, "granularity": Granularity.HOUR}, "timezone-aware"),
    ],
)
def test_bad_queries_are_explained(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(StoreError, match=message):
        ConsumptionQuery(**kwargs)  # type: ignore[arg-type]


def test_unknown_home_and_empty_device_list(repo: Repository) -> None:
    with pytest.raises(StoreError, match="unknown home 'nowhere'"):
        repo.consumption(ConsumptionQuery(T0, T0 + timedelta(hours=1), Granularity.HOUR, home_id="nowhere"))
    with pytest.raises(StoreError, match="needs device_ids"):
        repo.consumption(ConsumptionQuery(T0, T0 + timedelta(hours=1), Granularity.HOUR))
