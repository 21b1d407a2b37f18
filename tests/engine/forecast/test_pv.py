"""PV forecaster: provider correction, clear-sky fallback, never negative, zero at night."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shems_optimizer.core.forecast import Location, PVForecaster, SeriesContext, SeriesError
from shems_optimizer.core.forecast.solar import clear_sky_ghi

from .conftest import HOME, TZ


def test_provider_correction_on_the_slice(household: pd.DataFrame) -> None:
    ctx = SeriesContext.build(household, TZ, "FR", HOME, extra_steps=96)
    model = PVForecaster()
    summary = model.fit(ctx, 14 * 48)
    assert summary.method == "provider_correction"
    assert ctx.night is not None
    for origin in range(14 * 48, len(household) - 96 + 1, 48):
        fc = model.predict(ctx, origin, 96)
        night = ctx.night[origin : origin + 96]
        assert np.all(fc.p10 >= 0)
        assert np.all(fc.p90[night] == 0) and fc.p50[~night].max() > 500
        assert np.all(fc.p10 <= fc.p50) and np.all(fc.p50 <= fc.p90)


def _synthetic(days: int, provider: bool) -> pd.DataFrame:
    index = pd.date_range("2024-06-01", periods=days * 48, freq="30min", tz="UTC")
    pv = 3.0 * clear_sky_ghi(index + pd.Timedelta(minutes=15), HOME)  # a 3 W per W/m² array, clear sky
    frame = pd.DataFrame({"load_W": 400.0, "pv_W": pv}, index=index)
    if provider:
        frame["pv_forecast_W"] = pv * 0.8
    return frame


def test_without_provider_and_little_history_the_clear_sky_curve_is_scaled() -> None:
    ctx = SeriesContext.build(_synthetic(3, provider=False), TZ, None, HOME, extra_steps=96)
    model = PVForecaster()
    assert model.fit(ctx, 3 * 48).method == "clear_sky_fallback"
    fc = model.predict(ctx, 3 * 48, 96)
    assert fc.method == "clear_sky_fallback" and "clear-sky" in fc.notes[0]
    assert ctx.clear_sky is not None
    # production was exactly 3x the (step-averaged) clear sky: the forecast keeps that ratio
    day = fc.p50 > 0
    ratio = fc.p50[day] / ctx.clear_sky[3 * 48 : 3 * 48 + 96][day]
    assert np.median(ratio) == pytest.approx(3.0, rel=0.05)


def test_with_provider_but_little_history_the_provider_is_used_as_is() -> None:
    ctx = SeriesContext.build(_synthetic(3, provider=True), TZ, None, HOME, extra_steps=0)
    model = PVForecaster()
    model.fit(ctx, 2 * 48)
    fc = model.predict(ctx, 2 * 48, 48)
    assert fc.method == "provider_as_is"
    assert ctx.pv_provider is not None
    assert fc.p50 == pytest.approx(
        np.where(ctx.night[96:] if ctx.night is not None else False, 0, ctx.pv_provider[96:])
    )


def test_without_location_pv_cannot_be_forecast() -> None:
    ctx = SeriesContext.build(_synthetic(3, provider=False), TZ, None, None, extra_steps=0)
    with pytest.raises(SeriesError, match="location"):
        PVForecaster().fit(ctx, 48)


def test_without_any_pv_data_the_fallback_says_why() -> None:
    frame = _synthetic(2, provider=False)
    frame["pv_W"] = np.nan
    ctx = SeriesContext.build(frame, TZ, None, Location(48.83, 6.86), extra_steps=0)
    model = PVForecaster()
    model.fit(ctx, 48)
    with pytest.raises(SeriesError, match="no PV history"):
        model.predict(ctx, 48, 48)
