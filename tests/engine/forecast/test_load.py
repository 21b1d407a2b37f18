"""Load forecaster: fallbacks from day one, the model with gaps, ordered quantiles, past-only training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shems_optimizer.core.forecast import LoadForecaster, SeriesContext, SeriesError
from shems_optimizer.core.forecast.features import same_local_time_positions, take

from .conftest import HOME, TZ


def test_short_history_falls_back_to_a_profile_and_says_so(household_ctx: SeriesContext) -> None:
    model = LoadForecaster()
    origin = 3 * 48  # three days of history
    summary = model.fit(household_ctx, origin)
    assert summary.method == "profile_fallback" and "3.0 days" in summary.note
    fc = model.predict(household_ctx, origin, 96)
    assert fc.method == "profile_fallback"
    assert "3.0 days of load history" in fc.notes[0]
    # the profile's first step is the median of the same half hour on the three previous days
    same_time = household_ctx.load[[origin - 48, origin - 96, origin - 144]]
    assert fc.p50[0] == pytest.approx(np.median(same_time))
    assert np.all(fc.p10 <= fc.p50) and np.all(fc.p50 <= fc.p90)


def test_under_a_day_of_history_forecasts_the_recent_level(household_ctx: SeriesContext) -> None:
    model = LoadForecaster()
    model.fit(household_ctx, 10)
    fc = model.predict(household_ctx, 10, 20)  # no target has a measured "same time yesterday"
    assert fc.method == "level_fallback"
    assert fc.p50 == pytest.approx(np.full(20, np.median(household_ctx.load[:10])))
    assert "recent median level" in fc.notes[0]


def test_no_history_at_all_is_a_clear_error() -> None:
    index = pd.date_range("2024-06-01", periods=10, freq="30min", tz="UTC")
    ctx = SeriesContext.build(pd.DataFrame({"load_W": np.nan}, index=index), TZ, extra_steps=10)
    model = LoadForecaster()
    model.fit(ctx, 5)
    with pytest.raises(SeriesError, match="no load history"):
        model.predict(ctx, 5, 10)


def test_model_trains_on_the_past_and_beats_persistence_on_the_slice(household: pd.DataFrame) -> None:
    ctx = SeriesContext.build(household, TZ, "FR", HOME, extra_steps=96)
    model = LoadForecaster()
    train_until = 14 * 48
    summary = model.fit(ctx, train_until)
    assert summary.method == "gradient_boosting" and summary.rows > 1000
    errors, naive = [], []
    for origin in range(train_until, len(household) - 96 + 1, 48):
        fc = model.predict(ctx, origin, 96)
        assert fc.method == "gradient_boosting"
        assert np.all(np.isfinite(fc.p50)) and np.all(fc.p10 >= 0)
        assert np.all(fc.p10 <= fc.p50) and np.all(fc.p50 <= fc.p90)
        targets = origin + np.arange(96)
        lag = take(
            ctx.load,
            same_local_time_positions(ctx.grid, targets, np.arange(96) // 48 + 1),
            np.full(96, origin),
        )
        ok = np.isfinite(ctx.load[targets]) & np.isfinite(lag)
        errors.append(np.abs(fc.p50 - ctx.load[targets])[ok])
        naive.append(np.abs(lag - ctx.load[targets])[ok])
    assert np.concatenate(errors).mean() < np.concatenate(naive).mean()


def test_future_values_cannot_leak_into_a_forecast(household: pd.DataFrame) -> None:
    """Scrambling everything after the origin must not change the forecast."""
    origin = 15 * 48
    ctx = SeriesContext.build(household, TZ, "FR", HOME, extra_steps=96)
    model = LoadForecaster()
    model.fit(ctx, 14 * 48)
    before = model.predict(ctx, origin, 96).p50
    scrambled = household.copy()
    scrambled.iloc[origin:, scrambled.columns.get_loc("load_W")] = 99_999.0
    ctx2 = SeriesContext.build(scrambled, TZ, "FR", HOME, extra_steps=96)
    assert model.predict(ctx2, origin, 96).p50 == pytest.approx(before)


def test_gaps_in_history_still_give_a_finite_forecast(household: pd.DataFrame) -> None:
    holed = household.copy()
    holed.iloc[13 * 48 : 14 * 48 + 10, holed.columns.get_loc("load_W")] = np.nan  # the last day is missing
    ctx = SeriesContext.build(holed, TZ, "FR", HOME, extra_steps=96)
    model = LoadForecaster()
    model.fit(ctx, 14 * 48 + 10)
    fc = model.predict(ctx, 14 * 48 + 10, 96)
    assert np.all(np.isfinite(fc.p50)) and fc.method == "gradient_boosting"


def test_batched_medians_equal_single_forecasts(household_ctx: SeriesContext) -> None:
    from shems_optimizer.core.forecast import PVForecaster

    load, pv = LoadForecaster(), PVForecaster()
    load.fit(household_ctx, 14 * 48)
    pv.fit(household_ctx, 14 * 48)
    origins = np.array([14 * 48, 14 * 48 + 7, 15 * 48 + 3])
    load_rows = load.predict_medians(household_ctx, origins, 96)
    pv_rows = pv.predict_medians(household_ctx, origins, 96)
    for row, origin in enumerate(origins):
        assert load_rows[row] == pytest.approx(load.predict(household_ctx, int(origin), 96).p50)
        assert pv_rows[row] == pytest.approx(pv.predict(household_ctx, int(origin), 96, bands=False).p50)
