"""Thermal loads and grid-level terms: comfort band, import/export limits, peak charge, negative prices."""

from __future__ import annotations

import pytest

from shems_optimizer.core.model import PV, Grid, Site, ThermalLoad

from .helpers import energy_balance_error, flat_series, plan_for


def tank(**overrides: object) -> ThermalLoad:
    base: dict[str, object] = {
        "name": "tank",
        "max_power_kw": 2.0,
        "cop": 1.0,
        "heat_capacity_kwh_per_k": 0.2,  # 0.2 kWh per kelvin: 1 kWh heats it by 5 K
        "loss_kw_per_k": 0.0,
        "initial_temp_c": 50.0,
        "min_temp_c": 45.0,
        "max_temp_c": 60.0,
        "draw_kw": 1.0,  # 1 kW of hot water use: -5 K per hour
    }
    base.update(overrides)
    return ThermalLoad(**base)  # type: ignore[arg-type]


def test_preheats_in_cheap_hours_and_stays_in_the_band() -> None:
    # 5 h × 1 kW draw = 5 kWh; cooling from 50 to the 45 °C floor covers 1 kWh, so 4 kWh are bought.
    # Both cheap hours heat at the full 2 kW: 50 -> 55 -> 60 °C (the ceiling), then three expensive
    # hours draw it down to exactly 45 °C. Cost 4 kWh × 0.1 = 0.4.
    buy = [0.1, 0.1, 1.0, 1.0, 1.0]
    plan = plan_for(Site(grid=Grid(20, 20), thermal=(tank(),)), flat_series(5, buy=buy))
    assert plan.thermal_load("tank").power_kw == pytest.approx((2, 2, 0, 0, 0))
    assert plan.thermal_load("tank").temperature_c == pytest.approx((55, 60, 55, 50, 45))
    assert plan.cost.total == pytest.approx(0.4)
    assert plan.unmet_goals == ()


def test_comfort_that_cannot_be_reached_is_explained() -> None:
    plan = plan_for(
        Site(grid=Grid(20, 20), thermal=(tank(initial_temp_c=30.0, max_power_kw=1.5),)), flat_series(2)
    )
    (goal,) = plan.unmet_goals
    assert goal.goal == "comfort"
    assert "below the comfort minimum of 45 °C" in goal.explanation
    assert "starts at 30 °C" in goal.explanation


def test_import_limit_leaves_load_unserved_and_says_so() -> None:
    plan = plan_for(Site(grid=Grid(3, 3)), flat_series(2, load=5.0))
    assert plan.power.unserved_load_kw == pytest.approx((2.0, 2.0))
    (goal,) = plan.unmet_goals
    assert goal.goal == "supply"
    assert "grid connection gives at most 3 kW" in goal.explanation


def test_negative_sell_price_curtails_curtailable_pv() -> None:
    site = Site(grid=Grid(10, 10), pv=PV(curtailable=True))
    plan = plan_for(site, flat_series(2, load=1.0, pv=5.0, sell=[-0.2, 0.1]))
    assert plan.power.export_kw == pytest.approx((0.0, 4.0))
    assert plan.power.pv_curtailed_kw == pytest.approx((4.0, 0.0))
    assert plan.cost.total == pytest.approx(-0.4)


def test_non_curtailable_pv_exports_even_at_a_loss_and_export_limit_forces_curtailment() -> None:
    site = Site(grid=Grid(10, 2), pv=PV(curtailable=False))
    plan = plan_for(site, flat_series(1, load=1.0, pv=5.0, sell=-0.2))
    assert plan.power.export_kw == pytest.approx((2.0,))
    (goal,) = plan.unmet_goals
    assert goal.goal == "no_curtailment"
    assert "2 kW export limit" in goal.explanation


def test_peak_demand_charge_flattens_imports() -> None:
    from shems_optimizer.core.model import EnergyAppliance

    heater = EnergyAppliance(name="heater", energy_kwh=4.0, max_power_kw=4.0)
    site = Site(grid=Grid(10, 10, peak_demand_charge_eur_per_kw=1.0), appliances=(heater,))
    plan = plan_for(site, flat_series(4, buy=[0.1, 0.2, 0.3, 0.4]))
    # Without the charge it would run 4 kW in hour 0; with 1 EUR/kW of peak it spreads 1 kW over 4 h.
    assert max(plan.power.import_kw) == pytest.approx(1.0)
    assert plan.cost.peak_demand_eur == pytest.approx(1.0)


def test_self_consumption_objective_minimises_energy_bought_whatever_the_price() -> None:
    from shems_optimizer.core.model import Battery

    battery = Battery(
        "b", 10, 5, 5, initial_soc=0.0, soc_min=0.0, charge_efficiency=1, discharge_efficiency=1
    )
    series = flat_series(2, load=[0.0, 4.0], pv=[4.0, 0.0], buy=[0.3, 0.01], sell=[0.2, 0.0])
    by_cost = plan_for(Site(grid=Grid(10, 10), batteries=(battery,)), series)
    by_self = plan_for(Site(grid=Grid(10, 10), batteries=(battery,)), series, objective="self_consumption")
    # cost: sell the PV at 0.2 and buy back at 0.01; self-consumption: store it and buy nothing
    assert by_cost.power.import_kw[1] == pytest.approx(4.0)
    assert by_self.power.import_kw == pytest.approx((0.0, 0.0))
    assert energy_balance_error(by_self) < 1e-6


def test_time_of_use_tariff_follows_local_wall_clock_across_dst() -> None:
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from shems_optimizer.core.model import Period, Series, Tariff, TimeOfUse
    from shems_optimizer.core.timegrid import TimeGrid

    paris = ZoneInfo("Europe/Paris")
    tariff = Tariff(
        buy=TimeOfUse((Period(time(0, 0), 0.3), Period(time(2, 0), 0.1))),
        sell=TimeOfUse((Period(time(0, 0), 0.1), Period(time(2, 0), 0.0))),
        timezone="Europe/Paris",
    )
    # Spring-forward night: local 00:00, 01:00, then 03:00 (02:00 does not exist) -> off-peak from 03:00
    grid = TimeGrid.uniform(datetime(2026, 3, 29, tzinfo=paris), timedelta(hours=1), 4, paris)
    series = Series.from_arrays(grid, load_kw=[1.0] * 4)
    buy, sell = series.prices(Site(timezone="Europe/Paris", grid=Grid(tariff=tariff)))
    assert [t.hour for t in grid.starts] == [0, 1, 3, 4]
    assert list(buy) == [0.3, 0.3, 0.1, 0.1]
    assert list(sell) == [0.1, 0.1, 0.0, 0.0]
