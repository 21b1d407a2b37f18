"""The service's PV forecast: provider shapes from Home Assistant, the clear-sky fallback, measured
history, and any grid (48 h at 15 min, 7 days hourly, 5-minute steps)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shems_optimizer.adapters.homeassistant.pv_provider import PvProviderError, pv_from_state
from shems_optimizer.app.inputs.pv_forecast import DERATE, PvForecast
from shems_optimizer.app.inputs.pv_intervals import PvInterval
from shems_optimizer.core.timegrid import TimeGrid

T0 = datetime(2026, 6, 21, 0, 0, tzinfo=UTC)
BERLIN = {"latitude": 52.5, "longitude": 13.4}
SITE: dict[str, Any] = {"timezone": "Europe/Berlin", "location": BERLIN, "solar": [{"peak_w": 5000}]}


def iso(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


PROVIDER_CASES = [
    (
        "Solcast detailedForecast, kW over 30-min periods",
        {
            "detailedForecast": [
                {"period_start": iso(10), "pv_estimate": 2.5},
                {"period_start": iso(10.5), "pv_estimate": 3},
            ]
        },
        [(10, 10.5, 2500.0), (10.5, 11, 3000.0)],
    ),
    (
        "Solcast forecast list, hourly; a missing estimate is skipped, not read as zero",
        {
            "forecast": [
                {"period_start": iso(9), "pv_estimate": 1.0},
                {"period_start": iso(10), "pv_estimate": None},
                {"period_start": iso(11), "pv_estimate": "2"},
            ]
        },
        [(9, 10, 1000.0), (11, 12, 2000.0)],
    ),
    (
        "Forecast.Solar watts: instants averaged pairwise",
        {"watts": {iso(10): 1000, iso(10.25): 2000, iso(10.5): 2000}},
        [(10, 10.25, 1500.0), (10.25, 10.5, 2000.0)],
    ),
    (
        "Forecast.Solar wh_period: energy of the period starting at each key",
        {"wh_period": {iso(11): 1500, iso(10): 1000}},
        [(10, 11, 1000.0), (11, 12, 1500.0)],
    ),
    (
        "Open-Meteo Solar Forecast: watts and wh_period attributes with 15-min keys",
        {
            "watts": {iso(12): 400, iso(12.25): 600, iso(12.5): 600},
            "wh_period": {iso(12): 125, iso(12.25): 150, iso(12.5): 150},
        },
        [(12, 12.25, 500.0), (12.25, 12.5, 600.0)],
    ),
]


@pytest.mark.parametrize(
    ("attributes", "expected"), [c[1:] for c in PROVIDER_CASES], ids=[c[0] for c in PROVIDER_CASES]
)
def test_provider_shapes(attributes: dict[str, Any], expected: list[tuple[float, float, float]]) -> None:
    got = pv_from_state("sensor.pv_forecast", {"state": "12.3", "attributes": attributes})
    assert got == [PvInterval(T0 + timedelta(hours=a), T0 + timedelta(hours=b), w) for a, b, w in expected]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"friendly_name": "PV", "estimate": 3}, "sensor.pv_forecast: no PV forecast found"),
        ({"detailedForecast": [{"period_start": iso(10), "pv_estimate": 4500}]}, "4500 kW is implausible"),
        (
            {"detailedForecast": [{"start": iso(10), "pv_estimate": 1}]},
            "detailedForecast[0]: expected an object",
        ),
        ({"watts": {"2026-06-21T10:00:00": 5, iso(11): 6}}, "has no UTC offset"),
        ({"wh_period": {"tomorrow": 5}}, "'tomorrow' is not an ISO time"),
    ],
)
def test_unknown_or_wrong_provider_shapes_are_named(attributes: dict[str, Any], message: str) -> None:
    with pytest.raises(PvProviderError, match=re.escape(message)):
        pv_from_state("sensor.pv_forecast", {"state": "1", "attributes": attributes})


def utc_hour(moment: datetime) -> float:
    utc = moment.astimezone(UTC)
    return utc.hour + utc.minute / 60


def test_clear_sky_for_the_peak_power_without_history() -> None:
    grid = TimeGrid.uniform(T0, timedelta(minutes=15), 192, tz="Europe/Berlin")
    result = PvForecast().forecast(SITE, [], [], grid)
    assert result.kw is not None and len(result.kw) == 192
    assert "clear-sky curve for 5000 W peak × 0.80 derating" in result.note
    by_hour = dict(zip([utc_hour(s) for s in grid.starts[:96]], result.kw[:96], strict=True))
    # Solar noon in Berlin is about 11:07 UTC; the sun is 61° up on the solstice: Haurwitz gives
    # 1098 × cos(29°) × exp(−0.057 / cos(29°)) ≈ 899 W/m², so 5 kW × 0.80 × 0.899 ≈ 3.6 kW.
    assert by_hour[11.0] == pytest.approx(5.0 * DERATE * 0.899, rel=0.02)
    assert by_hour[0.0] == 0.0 and by_hour[22.0] == 0.0  # night
    assert max(result.kw) <= 5.0 * DERATE


def test_tilt_and_orientation_shape_the_clear_sky_curve() -> None:
    winter = TimeGrid.uniform(
        datetime(2026, 12, 21, tzinfo=UTC), timedelta(minutes=15), 96, tz="Europe/Berlin"
    )

    def forecast(**orientation: float) -> list[float]:
        site = SITE | {"solar": [{"peak_w": 5000, **orientation}]}
        result = PvForecast().forecast(site, [], [], winter)
        assert result.kw is not None
        assert ("tilt and orientation" in result.note) is bool(orientation)
        return result.kw

    def peak_hour(kw: list[float]) -> float:
        return utc_hour(winter.starts[kw.index(max(kw))])

    flat, south = forecast(), forecast(tilt_deg=35, azimuth_deg=180)
    # The low winter sun (14° at noon in Berlin) shines far more squarely on a 35° south roof.
    assert sum(south) > 2 * sum(flat)
    assert max(south) <= 5.0 * DERATE
    # An east roof produces before solar noon (11:07 UTC), a west roof after it.
    assert (
        peak_hour(forecast(tilt_deg=35, azimuth_deg=90))
        < 11.0
        < peak_hour(forecast(tilt_deg=35, azimuth_deg=270))
    )
    assert forecast(tilt_deg=0, azimuth_deg=180) == pytest.approx(flat, abs=1e-9)


def test_no_location_names_the_fields_to_set() -> None:
    grid = TimeGrid.uniform(T0, timedelta(minutes=15), 8, tz="UTC")
    result = PvForecast().forecast({"solar": [{"peak_w": 5000}]}, [], [], grid)
    assert result.kw is None
    assert "give the site a latitude and longitude" in result.note


def test_nothing_to_scale_says_what_to_set() -> None:
    grid = TimeGrid.uniform(T0, timedelta(minutes=15), 8, tz="UTC")
    site = {"location": BERLIN, "solar": [{"energy_entity": "sensor.pv_energy"}]}
    result = PvForecast().forecast(site, [], [], grid)
    assert result.kw is None and "the solar array's peak power or a solar forecast sensor" in result.note
    assert "pv_forecast_W" not in result.note and "solar[]" not in result.note  # plain words, no columns


def test_a_home_without_solar_arrays_is_told_so_not_asked_for_a_peak() -> None:
    grid = TimeGrid.uniform(T0, timedelta(minutes=15), 8, tz="UTC")
    result = PvForecast().forecast({"location": BERLIN, "solar": []}, [], [], grid)
    assert result.kw is None and result.note.endswith("has no solar panels, so no production is planned")


def sunny_history(days: int, peak_w: float = 3000.0) -> list[tuple[datetime, float]]:
    out = []
    moment = T0 - timedelta(days=days)
    while moment < T0:
        hour = moment.hour + moment.minute / 60 + 0.125  # bucket middle, UTC
        out.append((moment, max(0.0, peak_w * math.sin(math.pi * (hour - 3) / 16))))
        moment += timedelta(minutes=15)
    return out


@pytest.mark.parametrize(
    ("step", "steps"),
    [(timedelta(minutes=15), 192), (timedelta(hours=1), 168), (timedelta(minutes=5), 36)],
    ids=["48h-15min", "7d-hourly", "3h-5min"],
)
def test_learned_from_history_on_any_grid(step: timedelta, steps: int) -> None:
    start = T0 + timedelta(hours=9)
    grid = TimeGrid.uniform(start, step, steps, tz="Europe/Berlin")
    result = PvForecast().forecast(SITE, sunny_history(10), [], grid)
    assert result.kw is not None and len(result.kw) == steps
    assert result.note.startswith("PV forecast: a clear-sky model fitted to the measured production")
    for step_start, kw in zip(grid.starts, result.kw, strict=True):
        hour = utc_hour(step_start)
        if 1.0 <= hour < 2.0:
            assert kw == 0.0  # night
        if 10.0 <= hour < 12.0:
            assert 2.0 < kw < 3.4  # sunny days like the last ten (3 kW at 11 UTC)
    if step == timedelta(hours=1):
        days = [sum(result.kw[d * 24 : (d + 1) * 24]) for d in range(7)]
        assert min(days) > 0.7 * max(days)  # every one of the seven days has its sunshine


def test_provider_as_is_then_repeated_past_its_end() -> None:
    grid = TimeGrid.uniform(T0, timedelta(hours=1), 72, tz="UTC")
    provider = [PvInterval(T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1), 2000.0) for h in range(24)]
    result = PvForecast().forecast(SITE, [], provider, grid)
    assert result.kw is not None
    assert "the solar forecast service as it is" in result.note and "last day is repeated" in result.note
    assert result.kw[11] == pytest.approx(2.0) and result.kw[11 + 48] == pytest.approx(2.0)
    assert result.kw[0] == 0.0  # the sun is down at midnight whatever the provider says
