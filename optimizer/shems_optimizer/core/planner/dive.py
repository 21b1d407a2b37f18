"""A near-optimal first plan for the MIP from the relaxed solution: rounded at once, or by diving.

Rounding every group from one relaxed solution at once is one LP and exact whenever the relaxation
only hesitated between equally priced steps. Otherwise it leaves each group blind to the others (an EV
moved off a cheap hour would have let the water heater take it). Diving fixes one group's integer
columns, re-solves the LP relaxation from the previous basis (a handful of simplex iterations on the
same HiGHS instance) and rounds the next group from that updated solution. The last LP is a plan
that meets every enforced restriction: the MIP starts from it, or it is already provably optimal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import highspy
import numpy as np

from shems_optimizer.core.planner.lazy import ChoiceSet, LazyGroup, OnOffSchedule, SemiContinuous, SwitchPair
from shems_optimizer.core.planner.matrix import CompiledModel, IntArray
from shems_optimizer.core.planner.solve import (
    SolveOutcome,
    SolverSettings,
    extended_basis,
    highs_outcome,
    loaded_highs,
)
from shems_optimizer.core.timegrid import FloatArray


def first_plan(
    groups: Sequence[LazyGroup],
    compiled: CompiledModel,
    relaxed: SolveOutcome,
    settings: SolverSettings,
    good_enough: Callable[[SolveOutcome], bool],
) -> SolveOutcome | None:
    """The cheaper plan of rounding ``relaxed`` at once and diving; the dive only runs when the
    first is not ``good_enough``. None when neither LP had a solution."""
    if not compiled.num_integer or relaxed.x is None:
        return None
    ordered = sorted(groups, key=_rank)
    x, reduced = _padded(compiled, relaxed)
    fixes = [fix for group in ordered for fix in group.rounded(x, reduced)]
    session = _Session(compiled, settings, relaxed.basis)
    at_once = session.fix(*_flatten(fixes)) if fixes else None
    if at_once is not None and good_enough(at_once):
        return at_once
    # The dive starts from the rounded LP's basis: its integer columns are released, not rebuilt.
    session.release(np.flatnonzero(compiled.integer))
    plans = [p for p in (at_once, _dive(ordered, session, x, reduced)) if p is not None]
    return min(plans, key=_objective, default=None)


def _dive(
    ordered: Sequence[LazyGroup], session: _Session, x: FloatArray, reduced: FloatArray
) -> SolveOutcome | None:
    """Fix the groups' integer columns one group after another, each rounded from the LP that
    followed the previous fix."""
    plan: SolveOutcome | None = None
    for group in ordered:
        fixes = group.rounded(x, reduced)
        if not fixes:
            continue
        plan = session.fix(*_flatten(fixes))
        if plan is None:
            return None
        x, reduced = _primal_dual(plan, reduced)
    return plan


def _objective(plan: SolveOutcome) -> float:
    return np.inf if plan.objective is None else plan.objective


class _Session:
    """One HiGHS instance holding the LP relaxation; bound changes re-solve from the last basis."""

    def __init__(
        self, compiled: CompiledModel, settings: SolverSettings, basis: highspy.HighsBasis | None = None
    ) -> None:
        self.began = time.perf_counter()
        self.relaxed = replace(compiled, integer=np.zeros(compiled.num_cols, dtype=bool))
        self.highs = loaded_highs(
            self.relaxed, replace(settings, time_limit_s=min(settings.time_limit_s, 5.0))
        )
        # Start from the relaxed LP's basis (this model only appends columns and rows to it).
        start = extended_basis(basis, compiled) if basis is not None else None
        if start is not None:
            self.highs.setBasis(start)

    def release(self, cols: IntArray) -> None:
        """Give ``cols`` their original bounds back (takes effect at the next :meth:`fix`)."""
        lower, upper = self.relaxed.lower[cols], self.relaxed.upper[cols]
        self.highs.changeColsBounds(cols.size, cols.astype(np.int32), lower, upper)

    def fix(self, cols: IntArray, values: FloatArray) -> SolveOutcome | None:
        """Fix ``cols`` to ``values`` and re-solve."""
        self.highs.changeColsBounds(cols.size, cols.astype(np.int32), values, values)
        self.highs.run()
        outcome = highs_outcome(self.highs, self.relaxed, self.began)
        return outcome if outcome.x is not None and outcome.status == "optimal" else None


def _padded(compiled: CompiledModel, previous: SolveOutcome) -> tuple[FloatArray, FloatArray]:
    """A solution of a smaller (earlier) model extended by zeros to the columns added since."""
    x = np.zeros(compiled.num_cols)
    reduced = np.zeros(compiled.num_cols)
    if previous.x is not None:
        x[: previous.x.size] = previous.x
    if previous.reduced_costs is not None:
        reduced[: previous.reduced_costs.size] = previous.reduced_costs
    return x, reduced


def _flatten(fixes: list[tuple[IntArray, FloatArray]]) -> tuple[IntArray, FloatArray]:
    return np.concatenate([c for c, _ in fixes]), np.concatenate([v for _, v in fixes])


def _primal_dual(outcome: SolveOutcome, reduced: FloatArray) -> tuple[FloatArray, FloatArray]:
    assert outcome.x is not None
    return outcome.x, reduced if outcome.reduced_costs is None else outcome.reduced_costs


def _rank(group: LazyGroup) -> int:
    """On/off schedules are the hardest to round well: they go first, while the LP is freest;
    either/or switches last (most of them hold by themselves once the rest is fixed)."""
    order = (OnOffSchedule, ChoiceSet, SemiContinuous, SwitchPair)
    return next((i for i, kind in enumerate(order) if isinstance(group, kind)), len(order))
