"""Prices: published day-ahead values are exact, later steps follow the profile; tariffs are exact."""

from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd
import pytest

from shems_optimizer.core.forecast import (
    DayAheadPublication,
    SeriesError,
    SpotPriceForecaster,
    read_price_csv,
)
from shems_optimizer.core.model.tariff import Fixed, Market, Period, Tariff, TariffError, TimeOfUse

from .conftest import PRICES, TZ


@pytest.mark.parametrize(
    ("origin", "known_until"),
    [
        ("2024-06-03T10:59:00Z", "2024-06-03T22:00:00Z"),  # 12:59 Berlin: only today is published
        ("2024-06-03T11:00:00Z", "2024-06-04T22:00:00Z"),  # 13:00 Berlin: tomorrow too
        ("2024-03-30T12:00:00Z", "2024-03-31T22:00:00Z"),  # tomorrow is the 23-h DST day
    ],
)
def test_day_ahead_publication(origin: str, known_until: str) -> None:
    assert DayAheadPublication().known_until(pd.Timestamp(origin)) == pd.Timestamp(known_until)


def test_a_repeating_week_is_forecast_exactly_beyond_the_published_prices() -> None:
    index = pd.date_range("2024-05-01", periods=35 * 24, freq="1h", tz="UTC")
    local_hour = index.tz_convert(TZ).hour.to_numpy()
    prices = pd.Series(0.10 + 0.01 * local_hour, index=index)
    known_until = pd.Timestamp("2024-06-01T22:00Z")
    target = pd.date_range("2024-06-01T12:00Z", periods=96, freq="30min")
    fc = SpotPriceForecaster(TZ).forecast(prices, target, known_until)
    expected = 0.10 + 0.01 * target.tz_convert(TZ).hour.to_numpy()
    assert fc.p50 == pytest.approx(expected)
    assert fc.method == "day_ahead+profile"
    assert "published prices end at 2024-06-01T22:00:00+00:00" in fc.notes[0]
    assert np.all(fc.p10 <= fc.p50) and np.all(fc.p50 <= fc.p90)


def test_future_prices_in_the_history_are_not_used() -> None:
    prices = read_price_csv(PRICES)
    known_until = pd.Timestamp("2024-05-20T22:00Z")
    target = pd.date_range("2024-05-20T12:00Z", periods=96, freq="30min")
    fc = SpotPriceForecaster(TZ).forecast(prices, target, known_until)
    tampered = prices.copy()
    tampered[tampered.index >= known_until] = 9.0
    fc2 = SpotPriceForecaster(TZ).forecast(tampered, target, known_until)
    assert fc2.p50 == pytest.approx(fc.p50)
    published = target < known_until
    assert fc.p50[published][0] == pytest.approx(prices[target[0]])


def test_no_price_history_is_a_clear_error() -> None:
    prices = pd.Series([0.1], index=pd.DatetimeIndex([pd.Timestamp("2024-06-10T00:00Z")]))
    with pytest.raises(SeriesError, match="no spot prices"):
        SpotPriceForecaster(TZ).forecast(
            prices,
            pd.date_range("2024-06-01", periods=4, freq="1h", tz="UTC"),
            pd.Timestamp("2024-06-01T00:00Z"),
        )


def test_tariffs_are_exact() -> None:
    index = pd.date_range("2024-06-03T00:00", periods=4, freq="6h", tz=TZ).tz_convert("UTC")  # a Monday
    assert Tariff(Fixed(0.25)).buy_prices(index).tolist() == [0.25] * 4
    weekdays, weekends = frozenset({"weekday"}), frozenset({"weekend"})
    tou = Tariff(
        TimeOfUse(
            (
                Period(time(22), 0.15, end=time(6)),  # wraps midnight, every day
                Period(time(6), 0.30, end=time(22), days=weekdays),
                Period(time(6), 0.20, end=time(22), days=weekends),
            )
        ),
        timezone=TZ,
    )
    assert tou.buy_prices(index).tolist() == [0.15, 0.30, 0.30, 0.30]
    saturday = pd.date_range("2024-06-08T12:00", periods=1, freq="h", tz=TZ)
    assert tou.buy_prices(saturday).tolist() == [0.20]
    spot = np.array([0.05, -0.02, 0.10, 0.20])
    assert Tariff(Market(0.20)).buy_prices(index, spot) == pytest.approx([0.25, 0.18, 0.30, 0.40])
    assert Tariff(Market(0.10, vat=0.2)).buy_prices(index, spot) == pytest.approx([0.18, 0.096, 0.24, 0.36])
    with pytest.raises(TariffError, match="needs market prices"):
        Tariff(Market(0.2)).buy_prices(index)
