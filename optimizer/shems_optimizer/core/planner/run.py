"""``optimize(site, series, options) -> Plan``: build, solve, extract, explain, compare to baseline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from shems_optimizer.core.model.series import Series
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.plan import Plan, SolverReport
from shems_optimizer.core.planner import extract
from shems_optimizer.core.planner.baseline import simulate_baseline
from shems_optimizer.core.planner.build import BuiltModel, build_model
from shems_optimizer.core.planner.dive import first_plan
from shems_optimizer.core.planner.explain import explain_unmet
from shems_optimizer.core.planner.lazy import SwitchPair
from shems_optimizer.core.planner.matrix import CompiledModel
from shems_optimizer.core.planner.options import HIGHS, Options
from shems_optimizer.core.planner.solve import SolveOutcome, SolverSettings, solve
from shems_optimizer.core.timegrid import FloatArray

MAX_LAZY_ROUNDS = 4
# A first plan within this multiple of the MIP gap of the relaxed bound counts as near-optimal: the
# MIP then only has to raise its bound (cuts), not search for plans (see SolverSettings).
NEAR_OPTIMAL_FACTOR = 10.0


def solve_lazily(built: BuiltModel, options: Options) -> tuple[CompiledModel, SolveOutcome, int]:
    """Solve, add the integer restrictions the solution breaks (see :mod:`.lazy`), solve again.

    Every relaxed solve (no integer column yet) bounds the final optimum from below. When the
    rounded relaxation (see :mod:`.dive`) is feasible for every restriction and within the
    MIP gap of that bound, it is optimal by the same criterion the MIP solver uses, and no MIP is
    solved at all; otherwise it is the MIP's first incumbent.
    """
    settings = SolverSettings(
        mip_gap=options.mip_gap,
        mip_abs_gap=options.mip_abs_gap,
        time_limit_s=options.time_limit_s,
        threads=options.threads,
    )
    model = built.context.model
    # The first plan (rounding, diving) re-solves on one HiGHS instance from its basis: the HiGHS
    # path only. A PuLP solver gets the same lazy rounds and starts every MIP on its own.
    highs = options.solver == HIGHS
    solve_one: Callable[[CompiledModel, SolverSettings, FloatArray | None], SolveOutcome] = solve
    if not highs:
        from shems_optimizer.core.planner.pulp_solve import pulp_solver  # PuLP loads in 0.2 s: only here

        solve_one = pulp_solver(options.solver).solve
    began = time.perf_counter()
    deadline = began + options.time_limit_s
    rounds = 0
    start: FloatArray | None = None
    bound: float | None = None
    searching = True  # let HiGHS search for plans itself (no near-optimal start yet)
    while True:
        rounds += 1
        compiled = model.compile()
        remaining = max(0.05, deadline - time.perf_counter())
        outcome = solve_one(
            compiled, replace(settings, time_limit_s=remaining, sub_mip_heuristics=searching), start
        )
        if outcome.x is None:
            return compiled, outcome, rounds
        if compiled.num_integer == 0 and outcome.objective is not None:
            bound = outcome.objective  # a relaxation of the final model: a lower bound
        pending = [(group, group.violations(outcome.x)) for group in built.context.lazy]
        pending = [(group, where) for group, where in pending if where.size]
        if not pending:
            return compiled, outcome, rounds
        # Once a MIP is unavoidable, every start-time choice, on/off schedule and charger minimum goes
        # in at once (each later round would be another MIP solve); either/or switches stay per step.
        combinatorial = any(not isinstance(group, SwitchPair) for group, _ in pending)
        if combinatorial:
            for group in built.context.lazy:
                if not isinstance(group, SwitchPair):
                    group.enforce(model, None)
        for group, where in pending:
            group.enforce(model, None if rounds >= MAX_LAZY_ROUNDS else where)
        compiled = model.compile()
        rounded = _first_plan(built, compiled, outcome, settings, bound) if highs else None
        start = rounded.x if rounded is not None else None
        searching = not _near(rounded, bound, NEAR_OPTIMAL_FACTOR * settings.mip_gap)
        if rounded is not None and bound is not None and _proven(built, compiled, rounded, bound, settings):
            assert rounded.x is not None and rounded.objective is not None
            gap = (rounded.objective - bound) / max(abs(rounded.objective), 1e-9)
            return (
                compiled,
                SolveOutcome(
                    status="optimal",
                    detail="Optimal (rounded relaxation within the MIP gap of the relaxed bound)",
                    x=rounded.x,
                    objective=rounded.objective,
                    mip_gap=max(gap, 0.0),
                    solve_s=time.perf_counter() - began,
                ),
                rounds + 1,
            )


def _first_plan(
    built: BuiltModel,
    compiled: CompiledModel,
    relaxed: SolveOutcome,
    settings: SolverSettings,
    bound: float | None,
) -> SolveOutcome | None:
    """Round the relaxation into a plan (see :mod:`.dive`), stopping as soon as it is provably
    optimal."""
    return first_plan(
        built.context.lazy,
        compiled,
        relaxed,
        settings,
        good_enough=lambda plan: bound is not None and _proven(built, compiled, plan, bound, settings),
    )


def _near(plan: SolveOutcome | None, bound: float | None, gap: float) -> bool:
    if plan is None or plan.objective is None or bound is None:
        return False
    return plan.objective - bound <= gap * max(abs(plan.objective), 1e-9)


def _proven(
    built: BuiltModel, compiled: CompiledModel, rounded: SolveOutcome, bound: float, settings: SolverSettings
) -> bool:
    """The rounded plan meets every restriction (integral, no pending violation) and its cost is
    within the gap (relative or absolute, as HiGHS applies them) of the lower bound."""
    x, objective = rounded.x, rounded.objective
    if x is None or objective is None:
        return False
    integral = x[compiled.integer]
    if np.any(np.abs(integral - np.round(integral)) > 1e-6):
        return False
    if any(group.violations(x).size for group in built.context.lazy):
        return False
    return objective - bound <= max(settings.mip_abs_gap, settings.mip_gap * abs(objective)) + 1e-12


class PlanningError(RuntimeError):
    """The solver returned no plan at all (only possible when the time limit is hit before the
    first feasible plan is found); the message says what to change."""


def optimize(site: Site, series: Series, options: Options | None = None) -> Plan:
    """Plan every controllable asset of ``site`` over ``series.grid``.

    Never infeasible: user goals are soft, so a plan always comes back and ``plan.unmet_goals``
    says which goal was missed, by how much and why. Raises :class:`ConfigError` for bad input and
    :class:`PlanningError` only if the solver found no plan within ``options.time_limit_s``, and
    :class:`SolverUnavailable` when ``options.solver`` names a solver that cannot run here.
    """
    options = options or Options()
    began = time.perf_counter()
    built = build_model(site, series, options)
    build_s = time.perf_counter() - began
    compiled, outcome, rounds = solve_lazily(built, options)
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
        solve_s=time.perf_counter() - began - build_s,
        num_variables=compiled.num_cols,
        num_constraints=compiled.num_rows,
        num_integer=compiled.num_integer,
        rounds=rounds,
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
