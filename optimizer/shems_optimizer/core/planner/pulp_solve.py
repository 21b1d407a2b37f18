"""Hand the same compiled model to any solver PuLP drives (CBC, GLPK, Gurobi, CPLEX, HiGHS, …).

HiGHS through highspy (:mod:`.solve`) stays the default: it takes the sparse matrix as arrays, keeps
its instance between bound changes and is measurably faster (``shems-optimizer bench optimizer
--pulp``). This path exists for users who have another solver, or a licence for a commercial one:
the :class:`~shems_optimizer.core.planner.matrix.CompiledModel` is turned row by row into a PuLP problem
(no second formulation of the model) and the solver's answer comes back as a :class:`SolveOutcome`.

A solver is named ``pulp:<name>`` in :class:`~shems_optimizer.core.planner.options.Options`: a short
name (``cbc``, ``highs``, ``glpk``, ``gurobi``, ``cplex``, ``scip``, …) or any name PuLP lists
(``pulp.listSolvers()``, e.g. ``GUROBI_CMD``). CBC is the copy PuLP bundles unless a ``cbc`` is on
the ``PATH``.
"""

from __future__ import annotations

import functools
import inspect
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pulp

from shems_optimizer.core.planner.matrix import CompiledModel
from shems_optimizer.core.planner.options import HIGHS, SolverUnavailable, check_solver_name
from shems_optimizer.core.planner.options import PULP_PREFIX as PREFIX
from shems_optimizer.core.planner.solve import SolveOutcome, SolverSettings, quiet_banner

# Short names and the PuLP solvers they stand for, in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "cbc": ("COIN_CMD", "PULP_CBC_CMD"),
    "highs": ("HiGHS", "HiGHS_CMD"),
    "glpk": ("GLPK_CMD", "PYGLPK"),
    "gurobi": ("GUROBI", "GUROBI_CMD"),
    "cplex": ("CPLEX_PY", "CPLEX_CMD"),
    "scip": ("SCIP_PY", "SCIP_CMD", "FSCIP_CMD"),
    "xpress": ("XPRESS_PY", "XPRESS_CMD"),
    "mosek": ("MOSEK",),
    "copt": ("COPT", "COPT_CMD", "COPT_DLL"),
}


@dataclass(frozen=True)
class PulpSolver:
    """A PuLP solver chosen by name, made anew (with the time left) for every solve."""

    name: str  # as PuLP names it, e.g. "PULP_CBC_CMD"
    kind: type[Any]  # its PuLP class
    fixed: tuple[tuple[str, Any], ...] = ()  # arguments it is always made with (a binary's path)

    def make(self, settings: SolverSettings | None = None) -> Any:
        wanted: dict[str, Any] = {"msg": False}
        if settings is not None:
            wanted |= {
                "timeLimit": max(0.05, settings.time_limit_s),
                "gapRel": settings.mip_gap,
                "gapAbs": settings.mip_abs_gap,
                "threads": settings.threads,
            }
        parameters = inspect.signature(self.kind).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            wanted = {key: value for key, value in wanted.items() if key in parameters}  # GLPK: no gaps
        return self.kind(**dict(self.fixed), **wanted)

    def available(self) -> bool:
        return bool(self.make().available())

    def solve(self, model: CompiledModel, settings: SolverSettings, start: Any = None) -> SolveOutcome:
        """Solve ``model`` (``start``, the HiGHS path's first incumbent, is not passed on)."""
        began = time.perf_counter()
        quiet_banner()  # PuLP's HiGHS interface makes a HiGHS instance, whose first one speaks on stdout
        problem, variables = pulp_problem(model)
        status = problem.solve(self.make(settings))
        elapsed = time.perf_counter() - began
        return _outcome(self.name, problem, variables, model, status, settings, elapsed, began)


def pulp_solver(name: str) -> PulpSolver:
    """The PuLP solver ``name`` (``pulp:cbc``, ``pulp:GUROBI_CMD``…) that runs here, else
    :class:`SolverUnavailable` listing the ones that do."""
    check_solver_name(name)
    wanted = name[len(PREFIX) :].lower()
    known = {solver.lower(): solver for solver in _pulp_names()}
    candidates = ALIASES.get(wanted) or (known.get(wanted, name[len(PREFIX) :]),)
    for candidate in candidates:
        solver = _solver(candidate)
        if solver is not None and solver.available():
            return solver
    if wanted not in ALIASES and wanted not in known:
        problem = "PuLP knows no such solver"
    else:
        problem = f"PuLP finds no working {' or '.join(candidates)} on this machine"
    raise SolverUnavailable(f"solver {name!r}: {problem}; available here: {', '.join(available_solvers())}")


def available_solvers() -> list[str]:
    """Every solver name that works on this machine, the default first."""
    working = [
        alias
        for alias, candidates in ALIASES.items()
        if any(s is not None and s.available() for s in map(_solver, candidates))
    ]
    return [HIGHS, *(PREFIX + alias for alias in working)]


@functools.cache
def _pulp_names() -> tuple[str, ...]:
    return tuple(pulp.listSolvers())


def _solver(name: str) -> PulpSolver | None:
    if name == "PULP_CBC_CMD":
        # The CBC binary inside the PuLP package, driven as a plain COIN_CMD with its path (PuLP's
        # own wrapper for it is deprecated in favour of exactly that).
        return PulpSolver(name, pulp.COIN_CMD, (("path", pulp.PULP_CBC_CMD.pulp_cbc_path),))
    kind = getattr(pulp, name, None) if name in _pulp_names() else None
    return None if kind is None else PulpSolver(name, kind)


def pulp_problem(model: CompiledModel) -> tuple[Any, list[Any]]:
    """``model`` as a PuLP problem: one variable per column, one constraint per finite row side."""
    problem = pulp.LpProblem("plan", pulp.LpMinimize)
    variables = [
        problem.add_variable(
            f"x{col}",
            None if np.isinf(lower) else float(lower),
            None if np.isinf(upper) else float(upper),
            pulp.LpInteger if integer else pulp.LpContinuous,
        )
        for col, (lower, upper, integer) in enumerate(
            zip(model.lower.tolist(), model.upper.tolist(), model.integer.tolist(), strict=True)
        )
    ]
    costs = np.flatnonzero(model.cost)
    problem.setObjective(
        pulp.LpAffineExpression(
            [(variables[col], float(model.cost[col])) for col in costs], constant=float(model.offset)
        )
    )
    # Column-wise (CSC) to row-wise: the entries of each row, in column order.
    columns = np.repeat(np.arange(model.num_cols), np.diff(model.start))
    order = np.argsort(model.index, kind="stable")
    row_of, col_of, value_of = model.index[order], columns[order], model.value[order]
    bounds = np.searchsorted(row_of, np.arange(model.num_rows + 1))
    for row, (lower, upper) in enumerate(
        zip(model.row_lower.tolist(), model.row_upper.tolist(), strict=True)
    ):
        first, last = bounds[row], bounds[row + 1]
        terms = [
            (variables[c], v)
            for c, v in zip(col_of[first:last].tolist(), value_of[first:last].tolist(), strict=True)
        ]
        if lower == upper:
            _add(problem, terms, pulp.LpConstraintEQ, lower, f"r{row}")
            continue
        if not np.isinf(lower):
            _add(problem, terms, pulp.LpConstraintGE, lower, f"r{row}_lo")
        if not np.isinf(upper):
            _add(problem, terms, pulp.LpConstraintLE, upper, f"r{row}_up")
    return problem, variables


def _add(problem: Any, terms: list[tuple[Any, float]], sense: int, rhs: float, name: str) -> None:
    problem.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs))


def _outcome(
    name: str,
    problem: Any,
    variables: list[Any],
    model: CompiledModel,
    status: int,
    settings: SolverSettings,
    elapsed: float,
    began: float,
) -> SolveOutcome:
    solution = int(problem.sol_status)
    detail = f"{name}: {pulp.LpStatus.get(status, status)} ({pulp.LpSolution.get(solution, solution)})"
    has_solution = solution in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if not has_solution:
        return SolveOutcome("failed", detail, None, None, None, time.perf_counter() - began)
    x = np.array([variable.varValue or 0.0 for variable in variables], dtype=np.float64)
    if solution == pulp.LpSolutionOptimal:
        kind = "optimal"
    else:
        kind = "time_limit" if elapsed >= 0.95 * settings.time_limit_s else "feasible"
    return SolveOutcome(
        status=kind,
        detail=detail,
        x=x,
        objective=float(model.cost @ x) + model.offset,
        # PuLP does not report the gap a MIP solver reached; an LP has none.
        mip_gap=None if model.num_integer else 0.0,
        solve_s=time.perf_counter() - began,
    )
