"""Integer restrictions added only where a solution needs them ("lazy" integrality).

Most plans charge *or* discharge in a step, run an EV at 0 or full power and pick one start time
without being forced to; the binaries that force it make the MILP much harder. So the model is first
solved without them; each group below checks the solution, and where it is violated the exact
formulation is added and the model solved again. This is exact: a solution of the relaxed model that
satisfies a restriction is optimal for the restricted model, because removing constraints can only
lower the optimum. After a few rounds every remaining restriction is added in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from shems_optimizer.core.planner.matrix import IntArray, MatrixModel
from shems_optimizer.core.planner.rounding import round_semicontinuous, schedule_with_min_times, steps_needed
from shems_optimizer.core.timegrid import FloatArray

TOLERANCE = 1e-6
REDUCED_COST_WEIGHT = 100.0  # per EUR: a 0.01 EUR cheaper step outweighs a full step of relaxed power
ALL: IntArray = np.zeros(0, dtype=np.int64)  # "enforce everything"


class LazyGroup(Protocol):
    def violations(self, x: FloatArray) -> IntArray:
        """Indices (steps) that break the restriction in ``x`` and are not enforced yet."""
        ...

    def enforce(self, model: MatrixModel, where: IntArray | None) -> None:
        """Add the exact formulation for ``where`` (None: for everything)."""
        ...

    def rounded(self, x: FloatArray, reduced: FloatArray) -> list[tuple[IntArray, FloatArray]]:
        """Values for this group's integer columns that round ``x`` (a relaxed solution with column
        reduced costs ``reduced``, zeros when unknown): a start."""
        ...


@dataclass(eq=False)
class _StepBinaries:
    """Binary columns added step by step where a solution needs them; ``enforced`` marks those steps."""

    enforced: npt.NDArray[np.bool_] = field(init=False)
    binaries: list[tuple[IntArray, IntArray]] = field(default_factory=list, kw_only=True)

    def __post_init__(self) -> None:
        self.enforced = np.zeros(self._steps(), dtype=bool)

    def _steps(self) -> int:
        raise NotImplementedError

    def _not_enforced(self, where: IntArray | None) -> IntArray:
        steps = np.arange(self._steps(), dtype=np.int64) if where is None else where
        return steps[~self.enforced[steps]]

    def _added(self, steps: IntArray, binary: IntArray) -> None:
        self.binaries.append((steps, binary))
        self.enforced[steps] = True


@dataclass(eq=False)
class SwitchPair(_StepBinaries):
    """Per step at most one of ``first[t]``, ``second[t]`` is positive (charge vs discharge)."""

    first: IntArray
    second: IntArray
    first_max: FloatArray
    second_max: FloatArray

    def _steps(self) -> int:
        return len(self.first)

    def rounded(self, x: FloatArray, reduced: FloatArray) -> list[tuple[IntArray, FloatArray]]:
        # The side that carries more power wins the step.
        return [
            (cols, (x[self.first[steps]] >= x[self.second[steps]]).astype(np.float64))
            for steps, cols in self.binaries
        ]

    def violations(self, x: FloatArray) -> IntArray:
        both = (x[self.first] > TOLERANCE) & (x[self.second] > TOLERANCE)
        return np.flatnonzero(both & ~self.enforced).astype(np.int64)

    def enforce(self, model: MatrixModel, where: IntArray | None) -> None:
        steps = self._not_enforced(where)
        if steps.size == 0:
            return
        # first <= first_max·b ; second <= second_max·(1 − b)
        binary = model.add_cols("switch", steps.size, 0.0, 1.0, integer=True)
        model.add_constraints([(self.first[steps], 1.0), (binary, -self.first_max[steps])], -np.inf, 0.0)
        model.add_constraints(
            [(self.second[steps], 1.0), (binary, self.second_max[steps])], -np.inf, self.second_max[steps]
        )
        self._added(steps, binary)


@dataclass(eq=False)
class SemiContinuous(_StepBinaries):
    """Per step the power is 0 or within ``[min_kw, max_kw]`` (EV charger minimum current)."""

    power: IntArray
    min_kw: float
    max_kw: float

    def _steps(self) -> int:
        return len(self.power)

    def rounded(self, x: FloatArray, reduced: FloatArray) -> list[tuple[IntArray, FloatArray]]:
        on = round_semicontinuous(x[self.power], self.min_kw, self.max_kw)
        return [(cols, on[steps].astype(np.float64)) for steps, cols in self.binaries]

    def violations(self, x: FloatArray) -> IntArray:
        p = x[self.power]
        bad = (p > TOLERANCE) & (p < self.min_kw - TOLERANCE)
        return np.flatnonzero(bad & ~self.enforced).astype(np.int64)

    def enforce(self, model: MatrixModel, where: IntArray | None) -> None:
        # All steps at once: enforcing only the offending steps moves the fraction to a neighbour
        # step and costs another round.
        steps = self._not_enforced(None)
        if steps.size == 0:
            return
        on = model.add_cols("on", steps.size, 0.0, 1.0, integer=True)
        model.add_constraints([(self.power[steps], 1.0), (on, -self.min_kw)], 0.0, np.inf)
        model.add_constraints([(self.power[steps], 1.0), (on, -self.max_kw)], -np.inf, 0.0)
        self._added(steps, on)


@dataclass(eq=False)
class OnOffSchedule:
    """An on/off load with minimum power and minimum on/off times, as one all-or-nothing group."""

    name: str
    power: IntArray
    starts_s: FloatArray
    min_kw: float
    max_kw: float
    min_on_s: float
    min_off_s: float
    on: IntArray | None = None

    def violations(self, x: FloatArray) -> IntArray:
        if self.on is not None:
            return np.zeros(0, dtype=np.int64)
        p = x[self.power]
        on = p > TOLERANCE
        if np.any(on & (p < self.min_kw - TOLERANCE)):
            return np.zeros(1, dtype=np.int64)
        state = on.astype(np.float64)
        before = np.concatenate(([0.0], state[:-1]))
        startups = np.maximum(state - before, 0.0)
        shutdowns = np.maximum(before - state, 0.0)
        for span, events, limit in (
            (self.min_on_s, startups, state),
            (self.min_off_s, shutdowns, 1.0 - state),
        ):
            if span <= 0:
                continue
            rows, cols = self._lookback(span)
            sums = np.zeros(state.size)
            np.add.at(sums, rows, events[cols])
            if np.any(sums > limit + TOLERANCE):
                return np.zeros(1, dtype=np.int64)
        return np.zeros(0, dtype=np.int64)

    def rounded(self, x: FloatArray, reduced: FloatArray) -> list[tuple[IntArray, FloatArray]]:
        if self.on is None:
            return []
        power = x[self.power]
        scale = self.max_kw if self.max_kw > 0 else 1.0
        # Agree with the relaxation where it is decided; where it hesitates, take the steps whose
        # extra kW the LP prices cheapest (reduced cost of the power column).
        on = schedule_with_min_times(
            power / scale - reduced[self.power] * scale * REDUCED_COST_WEIGHT,
            self.starts_s,
            steps_needed(power, self.max_kw),
            self.min_on_s,
            self.min_off_s,
        )
        if on is None:
            return []
        keep = on.astype(np.float64)
        return [(self.on, keep)]

    def _lookback(self, span: float) -> tuple[IntArray, IntArray]:
        """Pairs (t, τ) with τ <= t and start[t] − start[τ] < span."""
        rows, cols = [], []
        for t in range(self.starts_s.size):
            tau = t
            while tau >= 0 and self.starts_s[t] - self.starts_s[tau] < span - 1e-6:
                rows.append(t)
                cols.append(tau)
                tau -= 1
        return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)

    def enforce(self, model: MatrixModel, where: IntArray | None) -> None:
        if self.on is not None or self.power.size == 0:
            return
        count = self.power.size
        on = model.add_cols(f"{self.name}.on", count, 0.0, 1.0, integer=True)
        self.on = on
        model.add_constraints([(self.power, 1.0), (on, -self.min_kw)], 0.0, np.inf)
        model.add_constraints([(self.power, 1.0), (on, -self.max_kw)], -np.inf, 0.0)
        previous = np.concatenate(([-1], on[:-1]))
        for span, sign in ((self.min_on_s, 1.0), (self.min_off_s, -1.0)):
            if span <= 0:
                continue
            # switch[t] >= ±(on[t] − on[t−1]) with on[−1] = 0 (off before the window), then
            # Σ startups in the last min_on <= on[t]  |  Σ shutdowns in the last min_off <= 1 − on[t]
            switch = model.add_cols(f"{self.name}.{'startup' if sign > 0 else 'shutdown'}", count, 0.0, 1.0)
            model.add_constraints([(switch, 1.0), (on, -sign), (previous, sign)], 0.0, np.inf)
            rows_t, cols_tau = self._lookback(span)
            rows = model.add_rows(count, -np.inf, 0.0 if sign > 0 else 1.0)
            model.add_entries(rows[rows_t], switch[cols_tau], 1.0)
            model.add_entries(rows, on, -1.0 if sign > 0 else 1.0)


@dataclass(eq=False)
class ChoiceSet:
    """Exactly one of a set of 0/1 choices (a programme's start time) — integral, not a blend."""

    choose: IntArray
    enforced: bool = False

    def violations(self, x: FloatArray) -> IntArray:
        if self.enforced or self.choose.size == 0:
            return np.zeros(0, dtype=np.int64)
        values = x[self.choose]
        fractional = (values > TOLERANCE) & (values < 1.0 - TOLERANCE)
        return np.zeros(1, dtype=np.int64) if fractional.any() else np.zeros(0, dtype=np.int64)

    def enforce(self, model: MatrixModel, where: IntArray | None) -> None:
        if not self.enforced:
            model.set_integer(self.choose)
            self.enforced = True

    def rounded(self, x: FloatArray, reduced: FloatArray) -> list[tuple[IntArray, FloatArray]]:
        if not self.enforced or self.choose.size == 0:
            return []
        values = np.zeros(self.choose.size)
        best = int(np.argmax(x[self.choose]))
        if x[self.choose[best]] > 0.25:
            values[best] = 1.0
        return [(self.choose, values)]
