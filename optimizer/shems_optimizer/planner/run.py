"""``optimize(site, series, options) -> Plan``: build, solve, extract, explain, compare to baseline."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from shems_optimizer.model.series import Series
from shems_optimizer.model.site import Site
from shems_optimizer.plan import Plan, SolverReport
from shems_optimizer.planner import extract
from shems_optimizer.planner.baseline import simulate_baseline
from shems_optimizer.planner.build import BuiltModel, build_model
from shems_optimizer.planner.explain import explain_unmet
from shems_optimizer.planner.lazy import SwitchPair
from shems_optimizer.planner.matrix import CompiledModel
from shems_optimizer.planner.options import Options
from shems_optimizer.planner.solve import SolveOutcome, SolverSettings, solve
from shems_optimizer.timegrid import FloatArray

MAX_LAZY_ROUNDS = 4


def solve_lazily(built: BuiltModel, options: Options) -> tuple[CompiledModel, SolveOutcome, int]:
    """Solve, add the integer restrictions the solution breaks (see :mod:`.lazy`), solve again."""
    settings = SolverSettings(
        mip_gap=options.mip_gap, time_limit_s=options.time_limit_s, threads=options.threads
    )
    model = built.context.model
    deadline = time.perf_counter() + options.time_limit_s
    rounds = 0
    start: FloatArray | None = None
    while True:
        rounds += 1
        compiled = model.compile()
        remaining = max(0.05, deadline - time.perf_counter())
        outcome = solve(compiled, replace(settings, time_limit_s=remaining), start)
        if outcome.x is None:
            return compiled, outcome, rounds
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
        start = rounded_start(built, model.compile(), outcome.x, settings)


def rounded_start(
    built: BuiltModel, compiled: CompiledModel, previous: FloatArray, settings: SolverSettings
) -> FloatArray | None:
    """A feasible first incumbent for the next MIP: round every integer column from the previous
    (relaxed) solution, fix them, and let an LP set the rest. Soft goals keep that LP feasible in
    almost every case; when it is not, HiGHS simply starts without an incumbent."""
    if not compiled.num_integer:
        return None
    x = np.zeros(compiled.num_cols)
    x[: previous.size] = previous
    lower, upper = compiled.lower.copy(), compiled.upper.copy()
    for group in built.context.lazy:
        for cols, values in group.rounded(x):
            lower[cols] = values
            upper[cols] = values
    fixed = replace(compiled, lower=lower, upper=upper, integer=np.zeros(compiled.num_cols, dtype=bool))
    outcome = solve(fixed, replace(settings, time_limit_s=min(settings.time_limit_s, 5.0)))
    return outcome.x if outcome.status == "optimal" else None


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
