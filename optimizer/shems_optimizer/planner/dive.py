"""A near-optimal first plan for the MIP: round one restriction group at a time, re-solving the LP.

Rounding every group from one relaxed solution at once leaves each group blind to the others (an EV
moved off a cheap hour would have let the water heater take it). Diving fixes one group's integer
columns, re-solves the LP relaxation from the previous basis (a handful of simplex iterations on the
same HiGHS instance) and rounds the next group from that updated solution. The last LP is a plan
that meets every enforced restriction: the MIP starts from it, or it is already provably optimal.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from shems_optimizer.planner.lazy import ChoiceSet, LazyGroup, OnOffSchedule, SemiContinuous, SwitchPair
from shems_optimizer.planner.matrix import CompiledModel, IntArray
from shems_optimizer.planner.solve import SolveOutcome, SolverSettings, highs_outcome, loaded_highs
from shems_optimizer.timegrid import FloatArray


def round_at_once(
    groups: Sequence[LazyGroup], compiled: CompiledModel, previous: SolveOutcome, settings: SolverSettings
) -> SolveOutcome | None:
    """Round every group from the same relaxed solution and let one LP set the rest: the cheapest
    try, and exact whenever the relaxation only hesitated between equally priced steps."""
    if not compiled.num_integer or previous.x is None:
        return None
    x, reduced = _padded(compiled, previous)
    fixes = [fix for group in groups for fix in group.rounded(x, reduced)]
    if not fixes:
        return None
    return _Session(compiled, settings).fix(*_flatten(fixes))


def dive(
    groups: Sequence[LazyGroup], compiled: CompiledModel, previous: SolveOutcome, settings: SolverSettings
) -> SolveOutcome | None:
    """Fix the groups' integer columns one group after another (switch pairs last); None when an LP
    on the way has no solution (the MIP then starts without an incumbent)."""
    if not compiled.num_integer or previous.x is None:
        return None
    session = _Session(compiled, settings)
    x, reduced = _padded(compiled, previous)
    best: SolveOutcome | None = None
    for group in sorted(groups, key=_rank):
        fixes = group.rounded(x, reduced)
        if not fixes:
            continue
        best = session.fix(*_flatten(fixes))
        if best is None:
            return None
        x, reduced = _primal_dual(best, reduced)
    return best


class _Session:
    """One HiGHS instance holding the LP relaxation; bound changes re-solve from the last basis."""

    def __init__(self, compiled: CompiledModel, settings: SolverSettings) -> None:
        self.began = time.perf_counter()
        self.relaxed = replace(compiled, integer=np.zeros(compiled.num_cols, dtype=bool))
        self.lower, self.upper = compiled.lower, compiled.upper
        self.highs = loaded_highs(
            self.relaxed, replace(settings, time_limit_s=min(settings.time_limit_s, 5.0))
        )

    def fix(self, cols: IntArray, lower: FloatArray, upper: FloatArray | None = None) -> SolveOutcome | None:
        upper = lower if upper is None else upper
        self.highs.changeColsBounds(cols.size, cols.astype(np.int32), lower, upper)
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
