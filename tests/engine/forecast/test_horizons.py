"""Horizons: 48 h / 7 days hourly / 30 days by local calendar day, with DST days of 23 and 25 hours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shems_optimizer.core.forecast.horizons import (
    MONTH_DAILY,
    WEEK_HOURLY,
    bucket_starts,
    bucket_sums_kwh,
    plan_horizon,
    usage_and_cost,
)

TZ = "Europe/Paris"


def test_week_hourly_has_168_buckets() -> None:
    starts = bucket_starts(pd.Timestamp("2024-06-01T10:00Z"), WEEK_HOURLY, TZ)
    assert len(starts) == 168 and starts[1] - starts[0] == pd.Timedelta(hours=1)
    assert plan_horizon(pd.Timedelta(minutes=30)).length == pd.Timedelta(hours=48)


def test_month_daily_buckets_follow_local_midnights_across_dst() -> None:
    origin = pd.Timestamp("2024-10-20T10:00Z")
    starts = bucket_starts(origin, MONTH_DAILY, TZ)
    assert starts[0] == origin
    assert starts[1] == pd.Timestamp("2024-10-20T22:00Z")  # midnight CEST
    lengths = np.diff(starts.asi8) / 3.6e12
    assert 25.0 in lengths  # 27 October has 25 hours
    assert starts[-1] < origin + pd.Timedelta(days=30)


def test_energy_and_cost_per_bucket() -> None:
    origin = pd.Timestamp("2024-06-01T22:00Z")  # local midnight
    index = pd.date_range(origin, periods=48 * 2, freq="30min")
    load = np.full(96, 1000.0)
    pv = np.zeros(96)
    pv[20:30] = 3000.0  # 10 half hours of 3 kW PV on day one
    starts = bucket_starts(origin, MONTH_DAILY, TZ)
    assert bucket_sums_kwh(index, load, starts[:3], starts[2])[:2] == pytest.approx([24.0, 24.0])
    buckets = usage_and_cost(
        index, (load * 0.8, load, load * 1.2), pv, np.full(96, 0.3), np.full(96, 0.1), MONTH_DAILY, origin, TZ
    )
    day1, day2 = buckets[0], buckets[1]
    assert day1.load_kwh == pytest.approx(24.0) and day1.load_kwh_p90 == pytest.approx(28.8)
    assert day1.pv_kwh == pytest.approx(15.0)
    assert day1.import_kwh == pytest.approx(19.0) and day1.export_kwh == pytest.approx(10.0)
    assert day1.cost_eur == pytest.approx(19.0 * 0.3 - 10.0 * 0.1)
    assert day2.cost_eur == pytest.approx(24.0 * 0.3)
