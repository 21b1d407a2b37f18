"""``optimize(site, series, options) -> Plan``: build, solve, extract, explain, compare to baseline."""

from __future__ import annotations

import time

from shems_optimizer.model.series import Series
from shems_optimizer.model.site import Site
from shems_optimizer.plan import Plan, SolverReport
from shems_optimizer.planner import extract
from shems_optimizer.planner.baseline import simulate_baseline
from shems_optimizer.planner.build import build_model
from shems_optimizer.planner.explain import explain_unmet
from shems_optimizer.planner.options import Options
from shems_optimizer.planner.solve import SolverSettings, solve


class PlanningError(RuntimeError):
    """The solver returned no plan at all (only possible when the time limit is hit before the
    first feasible plan is found); the message says what to change."""


def optimize(site: Site, series: Series, options: Options | None = None) -> Plan:
    """Plan every controllable asset of ``site`` over ``series.grid``.

    Never infeasible: user goals are soft, so a plan always comes back and ``plan.unmet_goals``
    says which goal was missed, by how much and why. Raises :class:`ConfigError` for bad input and
    :class:`PlanningError` only if the solver found no plan within ``options.time_limit_s``.
    """
    options = options or Options()
    began = time.perf_counter()
    built = build_model(site, series, options)
    compiled = built.context.model.compile()
    build_s = time.perf_counter() - began
    outcome = solve(
        compiled,
        SolverSettings(mip_gap=options.mip_gap, time_limit_s=options.time_limit_s, threads=options.threads),
        built.switches,
    )
    if outcome.x is None:
        raise PlanningError(
            f"the solver found no plan within {options.time_limit_s:g} s ({outcome.detail}); "
            "raise options.time_limit_s or shorten the horizon"
        )
    x = extract.cancel_simultaneous_flows(built, outcome.x)
    report = SolverReport(
        status=outcome.status,
        detail=outcome.detail,
        mip_gap=outcome.mip_gap,
        objective=outcome.objective,
        build_s=build_s,
        solve_s=outcome.solve_s,
        num_variables=compiled.num_cols,
        num_constraints=compiled.num_rows,
        num_integer=compiled.num_integer,
        used_lp_shortcut=outcome.used_lp_shortcut,
    )
    plan_batteries = extract.battery_plans(built, x)
    plan_evs = extract.ev_plans(built, x)
    plan_appliances = extract.appliance_plans(built, x)
    plan_thermal = extract.thermal_plans(built, x)
    power = extract.grid_plan(built, x)
    cost = extract.cost_breakdown(built, x, compiled.cost)
    unmet = explain_unmet(built, x, plan_evs, plan_appliances, plan_batteries, plan_thermal)
    baseline = simulate_baseline(built, compiled.cost) if options.compute_baseline else None
    return Plan(
        grid=series.grid,
        site_name=site.name,
        power=power,
        batteries=plan_batteries,
        evs=plan_evs,
        appliances=plan_appliances,
        thermal=plan_thermal,
        cost=cost,
        baseline=baseline,
        unmet_goals=unmet,
        solver=report,
        notes=series.repairs,
    )
