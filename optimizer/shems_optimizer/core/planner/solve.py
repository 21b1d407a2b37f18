"""Hand a compiled model to HiGHS (through highspy, no file or subprocess) and report honestly.

The status is what the solver proved: ``optimal`` only when the MIP gap target was reached;
a solve stopped by the time limit with a plan in hand is ``time_limit`` (the gap it reached is in
the result), without a plan it is ``failed``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

from shems_optimizer.core.planner.matrix import CompiledModel
from shems_optimizer.core.timegrid import FloatArray


@dataclass(frozen=True)
class SolverSettings:
    mip_gap: float = 1e-4
    mip_abs_gap: float = 1e-6
    time_limit_s: float = 30.0
    threads: int = 1
    # HiGHS's sub-MIP heuristics (RINS, RENS, root reduced cost) search for a better plan at the
    # root; with a near-optimal first plan in hand they mostly cost time (3/4 of a 7-day solve).
    sub_mip_heuristics: bool = True


@dataclass(frozen=True, eq=False)
class SolveOutcome:
    status: str  # "optimal" | "time_limit" | "feasible" | "failed"
    detail: str  # the solver's own words
    x: FloatArray | None
    objective: float | None
    mip_gap: float | None
    solve_s: float
    reduced_costs: FloatArray | None = None  # column duals of an LP solve (None for a MIP)
    basis: highspy.HighsBasis | None = None  # the final simplex basis of an LP solve


def solve(model: CompiledModel, settings: SolverSettings, start: FloatArray | None = None) -> SolveOutcome:
    """Solve; ``start`` is a feasible solution handed to HiGHS as its first incumbent."""
    began = time.perf_counter()
    highs = loaded_highs(model, settings)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        solution.value_valid = True
        highs.setSolution(solution)
    highs.run()
    return highs_outcome(highs, model, began)


def extended_basis(basis: highspy.HighsBasis, model: CompiledModel) -> highspy.HighsBasis | None:
    """``basis`` of a model that ``model`` extends by columns and rows appended at the end, made a
    basis of ``model``: new columns sit at their lower bound, new rows are basic (their slack)."""
    old_cols, old_rows = len(basis.col_status), len(basis.row_status)
    if not basis.valid or old_cols > model.num_cols or old_rows > model.num_rows:
        return None
    new_lower = model.lower[old_cols:]
    if np.any(np.isinf(new_lower)):
        return None
    extended = highspy.HighsBasis()
    extended.col_status = list(basis.col_status) + [highspy.HighsBasisStatus.kLower] * new_lower.size
    extended.row_status = list(basis.row_status) + [highspy.HighsBasisStatus.kBasic] * (
        model.num_rows - old_rows
    )
    extended.valid = True
    return extended


def loaded_highs(model: CompiledModel, settings: SolverSettings) -> highspy.Highs:
    """A quiet HiGHS instance holding ``model`` (kept by callers that re-solve after bound changes)."""
    highs = _new_highs(settings)
    _pass(highs, model)
    return highs


_first = threading.Lock()
_constructed: list[bool] = []


def quiet_banner() -> None:
    """Make this process's first HiGHS instance quietly (see :func:`_quietly_construct`); any HiGHS
    made afterwards, here or by PuLP's HiGHS interface, prints no banner."""
    if not _constructed:
        with _first:
            if not _constructed:
                _quietly_construct()
                _constructed.append(True)


def _new_highs(settings: SolverSettings) -> highspy.Highs:
    quiet_banner()
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", settings.mip_gap)
    highs.setOptionValue("mip_abs_gap", settings.mip_abs_gap)
    highs.setOptionValue("time_limit", settings.time_limit_s)
    highs.setOptionValue("threads", settings.threads)
    if not settings.sub_mip_heuristics:
        for name in ("rins", "rens", "root_reduced_cost"):
            highs.setOptionValue(f"mip_heuristic_run_{name}", False)
    return highs


def _quietly_construct() -> highspy.Highs:
    """HiGHS prints a banner on stdout when the first instance of a process is made; keep stdout
    clean for ``--json`` output by sending file descriptor 1 to /dev/null for that moment."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("wb") as sink:
            os.dup2(sink.fileno(), 1)
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
            highs.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return highs


def _pass(highs: highspy.Highs, model: CompiledModel) -> None:
    inf = highspy.kHighsInf
    lower = np.where(np.isinf(model.lower), -inf, model.lower)
    upper = np.where(np.isinf(model.upper), inf, model.upper)
    row_lower = np.where(np.isinf(model.row_lower), -inf, model.row_lower)
    row_upper = np.where(np.isinf(model.row_upper), inf, model.row_upper)
    integrality = model.integer.astype(np.int32)
    status = highs.passModel(
        model.num_cols,
        model.num_rows,
        int(model.value.size),
        1,  # column-wise matrix
        1,  # minimise
        model.offset,
        model.cost,
        lower,
        upper,
        row_lower,
        row_upper,
        model.start[:-1].astype(np.int32),
        model.index.astype(np.int32),
        model.value,
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model (inconsistent bounds or matrix)")


def highs_outcome(highs: highspy.Highs, model: CompiledModel, began: float) -> SolveOutcome:
    status = highs.getModelStatus()
    info = highs.getInfo()
    detail = highs.modelStatusToString(status)
    has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    solution = highs.getSolution()
    x = np.asarray(solution.col_value, dtype=np.float64) if has_solution else None
    reduced = (
        np.asarray(solution.col_dual, dtype=np.float64)
        if has_solution and not model.num_integer and solution.dual_valid
        else None
    )
    gap = float(info.mip_gap) if model.num_integer else 0.0
    if status == highspy.HighsModelStatus.kOptimal:
        kind = "optimal"
    elif has_solution:
        kind = "time_limit" if status == highspy.HighsModelStatus.kTimeLimit else "feasible"
    else:
        kind = "failed"
    return SolveOutcome(
        status=kind,
        detail=detail,
        x=x,
        objective=float(info.objective_function_value) if has_solution else None,
        mip_gap=gap if has_solution else None,
        solve_s=time.perf_counter() - began,
        reduced_costs=reduced,
        basis=highs.getBasis() if reduced is not None else None,
    )
