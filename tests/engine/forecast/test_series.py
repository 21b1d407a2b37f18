"""Reading measured series: every repair is reported, everything unrepairable is refused by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shems_optimizer.core.forecast import (
    Location,
    SeriesError,
    align_prices,
    prepare_series,
    read_price_csv,
    read_series_csv,
)

from .conftest import HOME, PRICES, SERIES


def frame(times: list[str], **columns: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": times, **columns})


HOURS = [f"2024-06-01T{h:02d}:00:00+00:00" for h in range(6)]


def test_bundled_slice_reads_with_its_repairs_listed() -> None:
    data, report = read_series_csv(SERIES, HOME)
    assert report.step == pd.Timedelta(minutes=30)
    assert report.rows == 21 * 48
    assert list(data.columns) == ["load_W", "pv_W", "pv_forecast_W"]
    assert any("night-time" in r for r in report.repairs)
    assert str(data.index.tz) == "UTC"
    # night PV is 0, never NaN, once the location is known
    assert data["pv_W"].between_time("23:00", "01:00").eq(0).all()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            frame([t.replace("+00:00", "") for t in HOURS], load_W=[500.0] * 6),
            "has no UTC offset and no zone",
        ),
        (pd.DataFrame({"when": HOURS, "load_W": [1.0] * 6}), "no timestamp column"),
        (frame(HOURS, pv_W=[1.0] * 6), "no load column"),
        (frame(HOURS, load_W=[-5.0] + [500.0] * 5), "negative"),
        (frame(HOURS[:1], load_W=[500.0]), "fewer than two rows"),
        (frame(["2024-13-45T99:00:00Z"] * 6, load_W=[500.0] * 6), "cannot parse"),
    ],
)
def test_unusable_input_is_refused_by_name(raw: pd.DataFrame, message: str) -> None:
    with pytest.raises(SeriesError, match=message):
        prepare_series(raw)


def test_kilowatts_in_a_watt_column_are_refused() -> None:
    times = pd.date_range("2024-06-01", periods=96, freq="30min", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S%z")
    raw = frame(list(times), load_W=list(np.full(96, 0.6)))
    with pytest.raises(SeriesError, match="look like kW"):
        prepare_series(raw)


def test_kilowatt_columns_are_converted() -> None:
    data, report = prepare_series(frame(HOURS, load_kW=[0.5] * 6, pv_kW=[1.0] * 6))
    assert data["load_W"].tolist() == [500.0] * 6
    assert data["pv_W"].tolist() == [1000.0] * 6
    assert "load_kW: converted kW to W" in report.repairs


def test_disorder_duplicates_and_gaps_are_repaired_and_reported() -> None:
    times = [HOURS[2], HOURS[0], HOURS[1], HOURS[1], HOURS[5]]
    data, report = prepare_series(frame(times, load_W=[300.0, 100.0, 200.0, 400.0, 600.0]))
    assert data["load_W"].tolist()[:3] == [100.0, 300.0, 300.0]  # duplicate 200/400 averaged
    assert np.isnan(data["load_W"].iloc[3]) and np.isnan(data["load_W"].iloc[4])
    assert len(data) == 6
    joined = " ".join(report.repairs)
    assert "sorted" in joined and "duplicated" in joined and "2 step(s) missing" in joined


def test_dst_offsets_in_local_timestamps_are_honoured() -> None:
    # 2024-10-27 in Paris: 02:30 happens twice (+02:00 then +01:00); both are distinct UTC steps.
    times = [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:30:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "2024-10-27T02:30:00+01:00",
    ]
    data, report = prepare_series(frame(times, load_W=[100.0, 200.0, 300.0, 400.0]))
    assert data["load_W"].tolist() == [100.0, 200.0, 300.0, 400.0]
    assert report.step == pd.Timedelta(minutes=30)


def test_negative_pv_is_clipped_and_night_gaps_need_a_location() -> None:
    times = ["2024-06-01T00:00:00+00:00", "2024-06-01T00:30:00+00:00", "2024-06-01T12:00:00+00:00"]
    raw = frame(times, load_W=[100.0, 100.0, 100.0], pv_W=[-1.5, np.nan, np.nan])
    without, _ = prepare_series(raw)
    assert without["pv_W"].iloc[0] == 0.0 and np.isnan(without["pv_W"].iloc[1])
    with_location, report = prepare_series(raw, location=Location(48.83, 6.86))
    assert with_location["pv_W"].iloc[1] == 0.0  # 02:30 in Paris: night
    assert np.isnan(with_location["pv_W"].iloc[-1])  # 14:00 in Paris: a real gap stays a gap
    assert any("night-time" in r for r in report.repairs)


def test_prices_are_read_in_eur_per_kwh_and_aligned_to_the_series_steps() -> None:
    prices = read_price_csv(PRICES)
    assert prices.index.tz is not None
    first = prices.iloc[0]
    index = pd.date_range(prices.index[0], periods=4, freq="30min")
    aligned = align_prices(prices, index).to_numpy()
    assert aligned[0] == aligned[1] == pytest.approx(first)  # an hourly price covers both half hours
    assert aligned[2] == pytest.approx(prices.iloc[1])
    quarter = pd.Series(
        [0.1, 0.2, 0.3, 0.4], index=pd.date_range("2025-10-01", periods=4, freq="15min", tz="UTC")
    )
    half = align_prices(quarter, pd.date_range("2025-10-01", periods=2, freq="30min", tz="UTC")).to_numpy()
    assert half == pytest.approx([0.15, 0.35])  # 15-min prices are averaged into 30-min steps


def test_price_file_without_a_price_column_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "p.csv"
    path.write_text("timestamp_utc,value\n2024-01-01T00:00:00Z,1\n")
    with pytest.raises(SeriesError, match="price_eur_per_mwh"):
        read_price_csv(path)
