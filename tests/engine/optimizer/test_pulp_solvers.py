"""The PuLP solver path (``Options(solver="pulp:…")``): the same sparse model handed to HiGHS and
to CBC through PuLP gives the same plans' cost as HiGHS through highspy, LPs and MIPs alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shems_bench.optimizer import case_a, full_site
from shems_optimizer.app.inputs.scenario import Scenario
from shems_optimizer.core.planner import Options, SolverUnavailable, optimize
from shems_optimizer.core.planner.pulp_solve import available_solvers, pulp_solver

from .test_golden import GOLDEN, golden_plan

PULP_SOLVERS = ("pulp:highs", "pulp:cbc")


@pytest.mark.parametrize("solver", PULP_SOLVERS)
@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_scenarios_cost_the_same_through_pulp(path: Path, solver: str) -> None:
    plan, expect = golden_plan(path, Options(solver=solver))
    assert plan.solver.detail.startswith(pulp_solver(solver).name)
    assert plan.status == expect["status"]
    assert plan.cost.total == pytest.approx(expect["cost_eur"], abs=1e-5)
    assert plan.baseline is not None
    assert plan.baseline.cost.total == pytest.approx(expect["baseline_cost_eur"], abs=1e-5)
    assert {b.name: pytest.approx(b.soc[-1], abs=1e-5) for b in plan.batteries} == expect["battery_final_soc"]
    assert {e.name: pytest.approx(e.soc[-1], abs=1e-5) for e in plan.evs} == expect["ev_final_soc"]
    assert [g.explanation for g in plan.unmet_goals] == expect["unmet_goals"]


# Mixed-integer cases: appliance start-time choices, either/or switches, the EV's charger minimum and
# the water heater's on/off schedule. A MIP gap of 1e-7 makes "the same cost" a tight comparison
# (at the default 1e-4 two solvers may stop at different plans within that gap).
MIXED_INTEGER: dict[str, Callable[[], Scenario]] = {
    "case_a_sell0065": lambda: case_a("inputs_48x30min_sell0065.csv"),
    "case_a_2days": lambda: case_a(days=2),
    "demo_home_heat_pump_48h": lambda: full_site(2),
}
TIGHT = {"mip_gap": 1e-7, "mip_abs_gap": 1e-7, "compute_baseline": False}


@pytest.mark.parametrize("case", MIXED_INTEGER)
def test_mixed_integer_plans_cost_the_same_through_pulp(case: str) -> None:
    scenario = MIXED_INTEGER[case]()
    reference = optimize(scenario.site, scenario.series, Options(**TIGHT))  # type: ignore[arg-type]
    assert reference.status == "optimal" and reference.solver.num_integer > 0
    for solver in PULP_SOLVERS:
        plan = optimize(scenario.site, scenario.series, Options(solver=solver, **TIGHT))  # type: ignore[arg-type]
        assert plan.status == "optimal", (solver, plan.solver.detail)
        assert plan.solver.num_integer > 0
        assert plan.solver.detail.startswith(pulp_solver(solver).name)
        assert plan.cost.total == pytest.approx(reference.cost.total, rel=1e-6, abs=1e-6), solver
        assert [len(a.runs) > 0 for a in plan.appliances] == [len(a.runs) > 0 for a in reference.appliances]
        assert [g.explanation for g in plan.unmet_goals] == [g.explanation for g in reference.unmet_goals]


def test_cbc_and_highs_through_pulp_run_here() -> None:
    assert available_solvers()[:1] == ["highs"]
    assert {"pulp:cbc", "pulp:highs"} <= set(available_solvers())
    assert pulp_solver("pulp:CBC").name in ("COIN_CMD", "PULP_CBC_CMD")
    assert pulp_solver("pulp:HiGHS").name == "HiGHS"


def test_a_solver_that_is_not_there_is_named_with_the_ones_that_are() -> None:
    scenario = case_a()
    with pytest.raises(SolverUnavailable) as missing:
        optimize(scenario.site, scenario.series, Options(solver="pulp:gurobi"))
    message = str(missing.value)
    assert "'pulp:gurobi'" in message and "no working GUROBI or GUROBI_CMD" in message
    assert "available here: highs, pulp:cbc" in message
    with pytest.raises(SolverUnavailable, match="PuLP knows no such solver"):
        pulp_solver("pulp:nosuchsolver")


@pytest.mark.parametrize("name", ["cbc", "pulp:", "HiGHS", ""])
def test_a_solver_name_of_the_wrong_form_is_refused_at_once(name: str) -> None:
    with pytest.raises(SolverUnavailable, match="use 'highs' \\(the default\\) or 'pulp:<solver>'"):
        Options(solver=name)
