"""Sun position, local-time lags across DST, trailing means: small numbers checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shems_optimizer.core.forecast.features import Grid, same_local_time_positions, take, trailing_mean
from shems_optimizer.core.forecast.solar import clear_sky_ghi, is_night, solar_elevation_deg
from shems_optimizer.core.model.calendar import holiday_flags

from .conftest import HOME


def test_sun_height_at_noon_in_june_and_at_midnight() -> None:
    # Solar noon at 6.86 E on 21 June is about 11:32 UTC; elevation 90 - 48.83 + 23.44 = 64.6 degrees.
    noon = pd.DatetimeIndex([pd.Timestamp("2024-06-21T11:32:00Z")])
    assert solar_elevation_deg(noon, HOME)[0] == pytest.approx(64.6, abs=0.5)
    midnight = pd.DatetimeIndex([pd.Timestamp("2024-06-21T23:30:00Z")])
    assert solar_elevation_deg(midnight, HOME)[0] < -15
    assert clear_sky_ghi(midnight, HOME)[0] == 0.0
    assert 800 < clear_sky_ghi(noon, HOME)[0] < 1050
    steps = pd.date_range("2024-06-21T00:00Z", periods=48, freq="30min")
    night = is_night(steps, pd.Timedelta(minutes=30), HOME)
    assert night[0] and not night[24]


def test_same_time_yesterday_follows_local_time_across_dst() -> None:
    # Paris springs forward on 2024-03-31: 08:00 local that day is 23 h after 08:00 the day before.
    index = pd.date_range("2024-03-29T00:00Z", periods=4 * 48, freq="30min")
    grid = Grid.build(index, "Europe/Paris")
    target = int(index.get_indexer([pd.Timestamp("2024-03-31T06:00Z")])[0])  # 08:00 CEST
    yesterday = same_local_time_positions(grid, np.array([target]), 1)[0]
    assert index[yesterday] == pd.Timestamp("2024-03-30T07:00Z")  # 08:00 CET
    assert target - yesterday == 46
    before_start = same_local_time_positions(grid, np.array([10]), 1)[0]
    assert before_start == -1


def test_take_hides_values_not_known_at_the_origin() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    out = take(values, np.array([0, 2, -1, 3]), np.array([3, 3, 3, 3]))
    assert out[0] == 1.0 and out[1] == 3.0 and np.isnan(out[2]) and np.isnan(out[3])


def test_trailing_mean_ignores_gaps() -> None:
    values = np.array([1.0, np.nan, 3.0, 5.0])
    assert trailing_mean(values, np.array([4, 2, 0]), 3).tolist()[:2] == [4.0, 1.0]
    assert np.isnan(trailing_mean(values, np.array([0]), 3)[0])


def test_public_holidays_by_local_date() -> None:
    local = pd.date_range("2024-07-13T12:00", periods=3, freq="D", tz="Europe/Paris")
    assert holiday_flags(local, "FR").tolist() == [0.0, 1.0, 0.0]  # 14 July
    assert holiday_flags(local, None).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="no public-holiday calendar"):
        holiday_flags(local, "XX")
