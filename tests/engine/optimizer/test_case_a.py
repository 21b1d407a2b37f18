"""EMHASS benchmark case A (bundled inputs): SHEMS must reach the proven optimum 4.0644 EUR."""

from __future__ import annotations

import pytest

from shems_optimizer.app.inputs.scenario import load_scenario
from shems_optimizer.core.plan import Plan
from shems_optimizer.core.planner import optimize
from shems_optimizer.data import data_path

from .helpers import energy_balance_error

EMHASS_OPTIMUM_EUR = 4.064369027558711


@pytest.fixture(scope="module")
def case_a_plan() -> Plan:
    scenario = load_scenario(
        data_path("emhass_case_a", "site.yaml"), data_path("emhass_case_a", "inputs_48x30min_default.csv")
    )
    return optimize(scenario.site, scenario.series)


def test_cost_matches_the_proven_optimum(case_a_plan: Plan) -> None:
    assert case_a_plan.status == "optimal"
    assert case_a_plan.cost.total == pytest.approx(EMHASS_OPTIMUM_EUR, rel=1e-4)
    assert case_a_plan.cost.total <= EMHASS_OPTIMUM_EUR * (1 + 1e-9)


def test_deferrable_loads_get_their_energy_at_nominal_power(case_a_plan: Plan) -> None:
    d0, d1 = case_a_plan.appliance("deferrable0"), case_a_plan.appliance("deferrable1")
    assert d0.energy_kwh == pytest.approx(12.0)
    assert d1.energy_kwh == pytest.approx(1.5)
    assert all(p == 0.0 or abs(p - 3.0) < 1e-6 for p in d0.power_kw)
    assert all(p == 0.0 or abs(p - 0.75) < 1e-6 for p in d1.power_kw)


def test_battery_respects_emhass_limits(case_a_plan: Plan) -> None:
    battery = case_a_plan.battery("battery")
    assert battery.soc[-1] == pytest.approx(0.6, abs=1e-6)
    assert min(battery.soc) >= 0.3 - 1e-9
    assert max(battery.soc) <= 0.9 + 1e-9
    assert max(battery.discharge_kw) <= 0.95 + 1e-9
    assert max(battery.charge_kw) <= 1.0 + 1e-9
    assert all(c == 0 or d == 0 for c, d in zip(battery.charge_kw, battery.discharge_kw, strict=True))


def test_plan_balances_and_states_savings(case_a_plan: Plan) -> None:
    assert energy_balance_error(case_a_plan) < 1e-6
    assert case_a_plan.unmet_goals == ()
    assert case_a_plan.baseline is not None
    assert case_a_plan.savings_eur is not None and case_a_plan.savings_eur > 0
    # the battery never discharges into the grid: export only from PV surplus
    for t, export in enumerate(case_a_plan.power.export_kw):
        surplus = max(0.0, case_a_plan.power.pv_forecast_kw[t] - case_a_plan.power.load_kw[t])
        assert export <= surplus + 1e-9
