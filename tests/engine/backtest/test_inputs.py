"""The backtest site file: the planner's site plus a ``backtest`` section, checked by name."""

from __future__ import annotations

from typing import Any

import pytest

from shems_optimizer.app.backtest.inputs import battery_limits, site_from_mapping
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.tariff import Fixed, Market

BATTERY = {"name": "b", "capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 4, "initial_soc": 0.5}


def site(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "batteries": [BATTERY],
        "backtest": {
            "latitude": 48.8,
            "longitude": 6.9,
            "country": "FR",
            "buy": {"spot_adder_eur_per_kwh": 0.2},
            "sell": {"fixed_eur_per_kwh": 0.08},
        },
    }
    base.update(extra)
    return base


def test_a_complete_site() -> None:
    bt = site_from_mapping(site())
    assert bt.location is not None and bt.location.latitude == 48.8
    assert bt.country == "FR"
    assert bt.tariff.buy == Market(0.2, 1.0) and bt.tariff.sell == Fixed(0.08)
    assert bt.needs_spot
    limits = battery_limits(bt.site.batteries[0])
    assert (limits.capacity_wh, limits.max_charge_w, limits.max_discharge_w) == (10_000, 5_000, 4_000)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (site(backtest={"latitude": 48.8}), "backtest.longitude"),
        (site(backtest={"lat": 48.8}), "backtest.lat"),
        (
            site(backtest={"buy": {"spot_adder": 0.2}, "sell": {"fixed_eur_per_kwh": 0}}),
            "backtest.buy.spot_adder",
        ),
        (site(backtest={}), "backtest.buy"),
        (
            site(
                evs=[
                    {
                        "name": "car",
                        "capacity_kwh": 50,
                        "soc_now": 0.5,
                        "target_soc": 0.8,
                        "max_charge_kw": 11,
                    }
                ]
            ),
            "evs",
        ),
        (site(batteries=[BATTERY, {**BATTERY, "name": "c"}]), "batteries"),
        (site(batteries=[{**BATTERY, "capacity_kwh": 10_000}]), "batteries[0].capacity_kwh"),
        ("not a mapping", "site"),
    ],
)
def test_bad_sites_name_the_field(data: Any, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        site_from_mapping(data)
    assert err.value.field == field
