"""The first plan handed to the MIP: energy-preserving rounding, minimum on/off times, and the
shortcut that returns a rounded plan as optimal when it is within the gap of the relaxed bound."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from shems_bench.optimizer import case_a
from shems_optimizer.app.inputs.scenario import load_scenario, read_csv_columns
from shems_optimizer.core.model import EnergyAppliance, Series, Site
from shems_optimizer.core.planner import Options, optimize
from shems_optimizer.core.planner.build import build_model
from shems_optimizer.core.planner.rounding import round_semicontinuous, schedule_with_min_times, steps_needed
from shems_optimizer.core.planner.solve import SolverSettings, solve
from shems_optimizer.core.timegrid import TimeGrid
from shems_optimizer.data import data_path

from .helpers import flat_series

QUARTER_S = 900.0


@pytest.mark.parametrize(
    ("power", "min_kw", "max_kw", "expected"),
    [
        # on/off at 3 kW: 1.24 + 1.76 kW of relaxed power make one full step, the stronger one
        ([3.0, 1.24, 1.76, 0.0], 3.0, 3.0, [True, False, True, False]),
        # 0.6 kW spread thinly: 0.1 kW fits the headroom of the full steps, 0.5 kW needs one more step
        ([0.3, 0.3, 10.9, 11.0], 1.4, 11.0, [True, False, True, True]),
        # 0.3 kW fits the 6 kW headroom of the step that is on anyway: nothing else switches on
        ([0.3, 5.0, 0.0], 1.4, 11.0, [False, True, False]),
        # nothing fractional: unchanged
        ([0.0, 2.0, 0.0], 1.4, 11.0, [False, True, False]),
    ],
)
def test_semicontinuous_rounding_keeps_the_energy(
    power: list[float], min_kw: float, max_kw: float, expected: list[bool]
) -> None:
    assert round_semicontinuous(np.array(power), min_kw, max_kw).tolist() == expected


@pytest.mark.parametrize(
    ("power", "max_kw", "steps"),
    [([2.4] * 10, 2.4, 10), ([1.2, 1.2, 0.0], 2.4, 1), ([1.3, 1.2], 2.4, 2), ([0.0], 2.4, 0)],
)
def test_steps_needed_rounds_the_relaxed_energy_up(power: list[float], max_kw: float, steps: int) -> None:
    assert steps_needed(np.array(power), max_kw) == steps


STARTS = np.arange(6) * QUARTER_S


@pytest.mark.parametrize(
    ("weights", "count", "min_on_steps", "min_off_steps", "expected"),
    [
        # free choice: the two heaviest steps
        ([1.0, 0.0, 0.9, 0.0, 0.0, 0.2], 2, 0, 0, [0, 2]),
        # a pause must last 2 steps: 0 and 2 are too close, 0 and 5 (1.2) beat 2 and 5 (1.1)
        ([1.0, 0.0, 0.9, 0.0, 0.0, 0.2], 2, 1, 2, [0, 5]),
        # runs of at least 2 steps, pauses of at least 2: two pairs around the heavy steps
        ([0.5, 0.5, 0.2, 0.2, 0.9, 0.9], 4, 2, 2, [0, 1, 4, 5]),
        # a run may be cut short only by the window's end
        ([0.0, 0.0, 1.0, 0.0, 0.0, 0.0], 1, 2, 0, [5]),
        # more steps than the window holds: all of them
        ([0.1] * 6, 9, 2, 2, [0, 1, 2, 3, 4, 5]),
        ([0.1] * 6, 0, 2, 2, []),
    ],
)
def test_schedule_with_min_times_is_the_best_feasible_pattern(
    weights: list[float], count: int, min_on_steps: int, min_off_steps: int, expected: list[int]
) -> None:
    on = schedule_with_min_times(
        np.array(weights), STARTS, count, min_on_steps * QUARTER_S, min_off_steps * QUARTER_S
    )
    assert on is not None
    assert np.flatnonzero(on).tolist() == expected


def test_loads_at_nominal_power_get_whole_steps_at_the_cheapest_price() -> None:
    """Two on/off loads (4 kWh at 2 kW, 2 kWh at 1 kW) and three equally cheap hours: every plan
    that puts both loads in those hours is optimal; the one returned runs each at nominal power.
    Cost: base load 0.5 kW × (3 h × 0.1 + 3 h × 0.3) = 0.6 EUR, loads 6 kWh × 0.1 = 0.6 EUR."""
    site = Site(
        name="two-loads",
        appliances=(
            EnergyAppliance(name="heater", energy_kwh=4.0, min_power_kw=2.0, max_power_kw=2.0),
            EnergyAppliance(name="pump", energy_kwh=2.0, min_power_kw=1.0, max_power_kw=1.0),
        ),
    )
    series = flat_series(6, load=0.5, buy=[0.3, 0.1, 0.1, 0.1, 0.3, 0.3])
    plan = optimize(site, series)
    assert plan.status == "optimal"
    assert plan.cost.total == pytest.approx(1.2, abs=1e-6)
    heater, pump = plan.appliance("heater"), plan.appliance("pump")
    assert [round(p, 6) for p in heater.power_kw].count(2.0) == 2
    assert [round(p, 6) for p in pump.power_kw].count(1.0) == 2
    assert heater.energy_kwh == pytest.approx(4.0) and pump.energy_kwh == pytest.approx(2.0)


def test_case_a_over_two_days_is_proven_by_its_rounded_relaxation() -> None:
    """Case A tiled to two days: the relaxation splits a 3 kW load between two equally priced
    steps; rounded, it costs the relaxed bound (twice EMHASS's optimum), so no MIP is needed."""
    scenario = case_a(days=2)
    plan = optimize(scenario.site, scenario.series, Options(compute_baseline=False))
    assert plan.status == "optimal"
    assert "rounded relaxation" in plan.solver.detail
    assert plan.cost.total == pytest.approx(2 * 4.064369027558711, rel=1e-6)


def test_demo_day_matches_the_mip_solved_in_one_piece() -> None:
    """The demo home (battery, EV with a charger minimum, two programmes, a water heater with
    minimum on/off times) over 24 h: the lazily solved plan costs what the complete MIP (every
    integer restriction from the start, no first plan) costs, within the MIP gap."""
    demo = load_scenario(data_path("demo", "site.yaml"), data_path("demo", "series.csv"))
    grid = TimeGrid.uniform(demo.series.grid.start, timedelta(minutes=15), 96, demo.site.timezone)
    stamps, columns = read_csv_columns(data_path("demo", "series.csv"))
    series = Series.from_samples(grid, stamps, columns)
    plan = optimize(demo.site, series, Options(compute_baseline=False))
    assert plan.status == "optimal"
    assert plan.solver.num_integer > 0
    assert plan.solver.mip_gap is not None and plan.solver.mip_gap <= 1e-4 + 1e-12
    built = build_model(demo.site, series, Options())
    for group in built.context.lazy:
        group.enforce(built.context.model, None)
    full = solve(built.context.model.compile(), SolverSettings(mip_gap=1e-7))
    assert full.objective is not None and plan.solver.objective is not None
    assert plan.solver.objective == pytest.approx(full.objective, rel=1.01e-4)
