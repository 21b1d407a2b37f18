"""Battery constraint family: hand-checkable arbitrage, SOC band, exclusivity, wear, terminal goals."""

from __future__ import annotations

import pytest

from shems_optimizer.core.model import Battery, Grid, Site

from .helpers import energy_balance_error, flat_series, plan_for


def battery(**overrides: object) -> Battery:
    base: dict[str, object] = {
        "name": "b",
        "capacity_kwh": 10.0,
        "max_charge_kw": 5.0,
        "max_discharge_kw": 5.0,
        "initial_soc": 0.5,
        "soc_min": 0.0,
        "soc_max": 1.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
    }
    base.update(overrides)
    return Battery(**base)  # type: ignore[arg-type]


# (case, battery overrides, buy prices, load kW, expected cost EUR, expected final SOC)
ARBITRAGE_CASES = [
    # Buy 5 kWh at 0.10 in hour 0, serve 2×5 kWh load at 0.50 in hours 2-3 from 10 kWh stored:
    # load 10 kWh, battery supplies 10 (5 initial + 5 bought cheap) -> cost 0.5
    ("lossless", {}, [0.1, 0.3, 0.5, 0.5], [0, 0, 5, 5], 0.5, 0.0),
    # With 0.9 charge and 0.9 discharge efficiency: hour 0 charges 5 kW -> +4.5 kWh (9.5 stored), hour 1
    # tops up 0.5 kWh stored for 0.5/0.9 kWh at 0.3 (0.3/0.81 per delivered kWh beats 0.5), 10 kWh
    # stored deliver 9 kWh, the grid covers 1 kWh at 0.5: 0.5 + 0.1667 + 0.5 = 1.1667
    (
        "lossy",
        {"charge_efficiency": 0.9, "discharge_efficiency": 0.9},
        [0.1, 0.3, 0.5, 0.5],
        [0, 0, 5, 5],
        0.5 + 0.3 * 0.5 / 0.9 + 0.5,
        0.0,
    ),
    # Wear 0.25/kWh on both directions kills a 0.4 spread (0.1 -> 0.5 costs 0.5 in wear per kWh cycled)
    # but the stored 5 kWh is still worth discharging (0.25 wear < 0.5 price): 5 kWh from battery,
    # 5 kWh from grid at 0.5 -> 2.5 + wear 1.25 = 3.75
    ("wear", {"wear_cost_eur_per_kwh": 0.25}, [0.1, 0.3, 0.5, 0.5], [0, 0, 5, 5], 3.75, 0.0),
    # Terminal SOC target 0.5 means the 5 kWh may be used only if bought back: charge 5 in hour 0,
    # discharge 5 for the load in hour 2, buy 5 in hour 3 at 0.5 and... cheaper: refill? No cheap hour
    # after the load, so: load 10 kWh, battery can contribute 5 kWh bought at 0.1 -> 0.5 + 5 × 0.5 = 3.0
    ("terminal", {"terminal_soc": 0.5}, [0.1, 0.3, 0.5, 0.5], [0, 0, 5, 5], 3.0, 0.5),
    # SOC band 0.2-0.8: at most 3 kWh usable from the initial 5 (down to 2), plus 3 kWh bought at 0.1
    # (up to 8) and then 6 kWh discharged -> grid buys 3 at 0.1 and 4 at 0.5 -> 0.3 + 2.0 = 2.3
    ("band", {"soc_min": 0.2, "soc_max": 0.8}, [0.1, 0.3, 0.5, 0.5], [0, 0, 5, 5], 2.3, 0.2),
]


@pytest.mark.parametrize(("case", "overrides", "buy", "load", "cost", "final_soc"), ARBITRAGE_CASES)
def test_arbitrage_by_hand(
    case: str,
    overrides: dict[str, object],
    buy: list[float],
    load: list[float],
    cost: float,
    final_soc: float,
) -> None:
    site = Site(grid=Grid(20, 20), batteries=(battery(**overrides),))
    plan = plan_for(site, flat_series(4, load=load, buy=buy, sell=0.0))
    assert plan.status == "optimal"
    assert plan.cost.total == pytest.approx(cost, abs=1e-6), case
    assert plan.battery("b").soc[-1] == pytest.approx(final_soc, abs=1e-6), case
    assert energy_balance_error(plan) < 1e-6


def test_never_charges_and_discharges_in_one_step_even_when_burning_energy_pays() -> None:
    # Importing at a negative price pays: a lossy battery could "burn" energy by charging and
    # discharging at once. Physically it cannot; the planner must not do it.
    b = battery(charge_efficiency=0.8, discharge_efficiency=0.8, initial_soc=0.5)
    plan = plan_for(Site(grid=Grid(20, 0.0), batteries=(b,)), flat_series(3, load=1.0, buy=-0.5, sell=0.0))
    bp = plan.battery("b")
    for charge, discharge in zip(bp.charge_kw, bp.discharge_kw, strict=True):
        assert charge == 0.0 or discharge == 0.0
    assert plan.solver.num_integer > 0  # the either/or binaries were needed and added


def test_battery_that_may_not_export_only_serves_the_house() -> None:
    # Selling at 1.0 is lucrative, but the battery may only cover the house's own 1 kW load.
    b = battery(may_export=False)
    plan = plan_for(Site(grid=Grid(20, 20), batteries=(b,)), flat_series(2, load=1.0, buy=1.0, sell=1.0))
    assert max(plan.power.export_kw) == 0.0
    assert plan.battery("b").discharge_kw == pytest.approx((1.0, 1.0))


def test_initial_soc_below_minimum_is_repaired_not_infeasible() -> None:
    b = battery(soc_min=0.3, initial_soc=0.1)
    plan = plan_for(Site(grid=Grid(20, 20), batteries=(b,)), flat_series(3, load=1.0))
    assert plan.status == "optimal"
    assert min(plan.battery("b").soc) >= 0.1 - 1e-9


def test_unreachable_terminal_soc_is_explained() -> None:
    # 1 kW for 2 h cannot lift a 10 kWh battery from 10 % to 90 %.
    b = battery(initial_soc=0.1, terminal_soc=0.9, max_charge_kw=1.0)
    plan = plan_for(Site(grid=Grid(20, 20), batteries=(b,)), flat_series(2, load=0.0))
    (goal,) = plan.unmet_goals
    assert goal.goal == "terminal_soc"
    assert goal.achieved == pytest.approx(0.3)
    assert "ends at 30 %, not 90 %" in goal.explanation
    assert "1 kW for 2 h" in goal.explanation
