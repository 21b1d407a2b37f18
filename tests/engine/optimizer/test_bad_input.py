"""Bad input gets a clear error naming the field and the problem (or a documented repair)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shems_optimizer.app.inputs.scenario import load_scenario
from shems_optimizer.core.model import Series, Site
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.loading import site_from_dict
from shems_optimizer.core.planner import optimize

from .helpers import START, flat_series, hourly_grid

BATTERY = {
    "name": "home",
    "capacity_kwh": 10,
    "max_charge_kw": 5,
    "max_discharge_kw": 5,
    "initial_soc": 0.5,
}


EV = {
    "name": "car",
    "capacity_kwh": 60,
    "soc_now": 0.2,
    "target_soc": 0.8,
    "max_charge_kw": 11,
    "departure": "2026-06-01T07:00:00+02:00",
}


def with_battery(**changes: Any) -> dict[str, Any]:
    return {"batteries": [{**BATTERY, **changes}]}


def with_ev(**changes: Any) -> dict[str, Any]:
    return {"evs": [{**EV, **changes}]}


SITE_ERRORS = [
    ("watts for kW", with_battery(max_charge_kw=3000), "batteries[0].max_charge_kw", "was it given in W"),
    ("Wh for kWh", with_battery(capacity_kwh=10000), "batteries[0].capacity_kwh", "was it given in Wh"),
    ("SOC in percent", with_battery(initial_soc=80), "batteries[0].initial_soc", "fraction"),
    ("SOC below zero", with_battery(soc_min=-0.1), "batteries[0].soc_min", "between 0 and 1"),
    ("min above max", with_battery(soc_min=0.9, soc_max=0.2), "batteries[0].soc_min", "above soc_max"),
    ("not a number", with_battery(capacity_kwh="big"), "batteries[0].capacity_kwh", "expected a number"),
    ("NaN", with_battery(capacity_kwh=math.nan), "batteries[0].capacity_kwh", "finite number"),
    (
        "missing field",
        {"batteries": [{k: v for k, v in BATTERY.items() if k != "capacity_kwh"}]},
        "batteries[0].capacity_kwh",
        "required",
    ),
    ("unknown key", with_battery(capacity_kw=10), "batteries[0].capacity_kw", "unknown setting"),
    (
        "departure before arrival",
        with_ev(arrival="2026-06-01T18:00:00+02:00"),
        "evs[0].departure",
        "not after arrival",
    ),
    ("naive timestamp", with_ev(departure="2026-06-01T07:00:00"), "evs[0].departure", "no time zone"),
    (
        "appliance kind",
        {"appliances": [{"name": "x", "type": "magic"}]},
        "appliances[0].type",
        "must be 'profile'",
    ),
    ("duplicate names", {"batteries": [BATTERY, BATTERY]}, "batteries[home].name", "already used"),
    ("bad time zone", {"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
]


@pytest.mark.parametrize(("case", "data", "field", "problem"), SITE_ERRORS, ids=[c[0] for c in SITE_ERRORS])
def test_site_errors_name_the_field(case: str, data: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        site_from_dict(data, reference=START)
    assert caught.value.field == field, case
    assert problem in caught.value.problem, case


def test_nan_in_a_series_is_refused_with_its_time() -> None:
    with pytest.raises(
        ConfigError, match=r"series.load_kw: missing or non-numeric value at 2026-06-01T02:00"
    ):
        flat_series(4, load=[1.0, 1.0, math.nan, 1.0])


def test_short_series_is_refused() -> None:
    with pytest.raises(ConfigError, match="has 3 values but the horizon has 4 steps"):
        Series.from_arrays(hourly_grid(4), load_kw=[1, 1, 1])


def test_samples_not_covering_the_horizon_are_refused() -> None:
    stamps = [START + timedelta(hours=i) for i in range(3)]
    with pytest.raises(ConfigError, match="too short"):
        Series.from_samples(hourly_grid(4), stamps, {"load_kw": [1, 1, 1]})


def test_short_gaps_are_filled_and_reported_long_gaps_refused() -> None:
    stamps = [START + timedelta(minutes=30 * i) for i in range(12)]
    load = [1.0] * 12
    load[3] = math.nan  # 30 min gap: interpolated
    series = Series.from_samples(hourly_grid(5), stamps, {"load_kw": load})
    assert series.load_kw == pytest.approx([1.0] * 5)
    assert "filled 1 missing value(s)" in series.repairs[0]
    plan = optimize(
        Site(),
        Series.from_samples(
            hourly_grid(5),
            stamps,
            {"load_kw": load, "buy_eur_per_kwh": [0.3] * 12, "sell_eur_per_kwh": [0.1] * 12},
        ),
    )
    assert plan.notes and "interpolation" in plan.notes[0]
    load[2:10] = [math.nan] * 8  # 4 h gap: refused
    with pytest.raises(ConfigError, match=r"series.load_kw: missing values from .* \(longer than 2 h\)"):
        Series.from_samples(hourly_grid(5), stamps, {"load_kw": load})


def test_watts_in_a_kw_column_are_refused() -> None:
    with pytest.raises(ConfigError, match="was it given in W"):
        flat_series(2, load=[800.0, 1200.0])


def test_negative_prices_are_valid() -> None:
    plan = optimize(Site(), flat_series(2, load=1.0, buy=-0.1, sell=-0.2))
    assert plan.status == "optimal"
    assert plan.cost.total == pytest.approx(-0.2)


def test_empty_site_plans_the_grid_alone() -> None:
    plan = optimize(Site(), flat_series(3, load=1.0, pv=0.5, buy=0.2))
    assert plan.cost.total == pytest.approx(3 * 0.5 * 0.2)
    assert plan.batteries == () and plan.unmet_goals == ()


def test_missing_prices_without_tariff_are_refused() -> None:
    series = Series.from_arrays(hourly_grid(2), load_kw=[1, 1])
    with pytest.raises(ConfigError, match="no price in the series and no time-of-use tariff"):
        optimize(Site(), series)


@pytest.mark.parametrize(
    ("site_text", "csv_text", "message"),
    [
        ("batteries: [", "timestamp,load_kw\n", "not valid YAML"),
        ("name: x\n", "time_of_day,load_kw\n1,1\n", "no timestamp column"),
        ("name: x\n", "timestamp,load_kw\n2026-06-01T00:00:00,1\n", "has no UTC offset and no zone"),
        ("name: x\n", "timestamp,pv_kw\n2026-06-01T00:00:00+00:00,1\n", "no load column"),
        ("name: x\n", "timestamp,load_kw,load_w\n2026-06-01T00:00:00+00:00,1,1000\n", "given twice"),
    ],
)
def test_malformed_files_are_refused_with_a_reason(
    tmp_path: Path, site_text: str, csv_text: str, message: str
) -> None:
    (tmp_path / "site.yaml").write_text(site_text)
    (tmp_path / "series.csv").write_text(csv_text)
    with pytest.raises(ConfigError, match=message):
        load_scenario(tmp_path / "site.yaml", tmp_path / "series.csv")


def test_time_of_day_needs_a_reference() -> None:
    data = {
        "evs": [
            {
                "name": "c",
                "capacity_kwh": 50,
                "soc_now": 0.1,
                "target_soc": 0.5,
                "max_charge_kw": 7,
                "departure": "07:00",
            }
        ]
    }
    with pytest.raises(ConfigError, match="needs a horizon start"):
        site_from_dict(data)
    site = site_from_dict(
        {**data, "timezone": "Europe/Paris"}, reference=datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    )
    # 20:00 UTC is 22:00 in Paris: the next 07:00 is the following morning
    assert site.evs[0].departure == datetime(2026, 6, 2, 5, 0, tzinfo=UTC)


def test_standby_noise_below_zero_is_read_as_zero_but_real_negative_power_is_refused() -> None:
    series = flat_series(2, pv=[-0.0015, 1.0])
    assert list(series.pv_kw) == [0.0, 1.0]
    with pytest.raises(ConfigError, match=r"series\.pv_kw: negative power at 2026-06-01T00:00"):
        flat_series(2, pv=[-2.0, 1.0])
