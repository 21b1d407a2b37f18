"""A minimal sparse MILP builder: columns and rows are added in vectorised blocks.

Building the model as arrays (one call per constraint family and horizon, not one per step) is what
keeps planning fast: a 672-step site is a few dozen numpy calls. The same matrix can be handed to
HiGHS directly (:mod:`shems_optimizer.core.planner.solve`) or rebuilt through PuLP for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shems_optimizer.core.timegrid import FloatArray

IntArray = npt.NDArray[np.int64]
INF = float("inf")


@dataclass
class MatrixModel:
    """Minimise ``cost·x + offset`` s.t. ``row_lower <= A x <= row_upper``, ``lower <= x <= upper``."""

    cost: list[FloatArray] = field(default_factory=list)
    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    integer: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    names: list[tuple[str, int]] = field(default_factory=list)
    row_lower: list[FloatArray] = field(default_factory=list)
    row_upper: list[FloatArray] = field(default_factory=list)
    entry_rows: list[IntArray] = field(default_factory=list)
    entry_cols: list[IntArray] = field(default_factory=list)
    entry_vals: list[FloatArray] = field(default_factory=list)
    offset: float = 0.0
    num_cols: int = 0
    num_rows: int = 0

    # ------------------------------------------------------------------ columns
    def add_cols(
        self,
        name: str,
        count: int,
        lower: float | FloatArray = 0.0,
        upper: float | FloatArray = INF,
        cost: float | FloatArray = 0.0,
        integer: bool = False,
    ) -> IntArray:
        """``count`` new variables; returns their indices."""
        idx = np.arange(self.num_cols, self.num_cols + count, dtype=np.int64)
        self.num_cols += count
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (count,)).copy())
        self.integer.append(np.full(count, integer))
        self.names.append((name, count))
        return idx

    def add_window_cols(
        self, name: str, steps: int, first: int, last: int, upper: float, cost: float | FloatArray = 0.0
    ) -> IntArray:
        """Per-step variables that exist only in steps ``[first, last)``; -1 elsewhere."""
        cols = np.full(steps, -1, dtype=np.int64)
        if last > first:
            step_cost = np.broadcast_to(np.asarray(cost, dtype=np.float64), (steps,))[first:last]
            cols[first:last] = self.add_cols(name, last - first, 0.0, upper, step_cost)
        return cols

    def set_integer(self, cols: IntArray) -> None:
        """Make existing columns integer (used when a relaxed choice turns out fractional)."""
        flat = np.concatenate(self.integer) if self.integer else np.zeros(0, dtype=bool)
        flat[np.asarray(cols, dtype=np.int64)] = True
        self.integer = [flat]

    # ------------------------------------------------------------------ rows
    def add_rows(self, count: int, lower: float | FloatArray, upper: float | FloatArray) -> IntArray:
        """``count`` new empty rows with bounds; fill them with :meth:`add_entries`."""
        idx = np.arange(self.num_rows, self.num_rows + count, dtype=np.int64)
        self.num_rows += count
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)).copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)).copy())
        return idx

    def add_entries(self, rows: IntArray, cols: IntArray, vals: float | FloatArray) -> None:
        """Coefficients ``A[rows[k], cols[k]] += vals[k]`` (duplicates are summed)."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if rows.shape != cols.shape:
            raise ValueError("rows and cols differ in length")
        self.entry_rows.append(rows.ravel())
        self.entry_cols.append(cols.ravel())
        self.entry_vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape).ravel().copy())

    def add_constraints(
        self,
        terms: Sequence[tuple[IntArray, float | FloatArray]],
        lower: float | FloatArray,
        upper: float | FloatArray,
    ) -> IntArray:
        """``len(cols)`` rows at once: row k is ``Σ_terms coef[k]·x[cols[k]]`` within bounds.

        A column index of -1 means "no entry in this row" (e.g. the previous SOC of the first step).
        """
        count = len(terms[0][0])
        rows = self.add_rows(count, lower, upper)
        for term_cols, coef in terms:
            cols = np.asarray(term_cols, dtype=np.int64)
            vals = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
            keep = cols >= 0
            self.add_entries(rows[keep], cols[keep], vals[keep])
        return rows

    # ------------------------------------------------------------------ objective
    def add_cost(self, cols: IntArray, cost: float | FloatArray) -> None:
        """Add to the objective coefficients of existing columns."""
        flat = self._flat_cost()
        np.add.at(flat, np.asarray(cols, dtype=np.int64), np.broadcast_to(np.asarray(cost), np.shape(cols)))
        self.cost = [flat]

    def _flat_cost(self) -> FloatArray:
        return np.concatenate(self.cost) if self.cost else np.zeros(0)

    # ------------------------------------------------------------------ export
    def compile(self) -> CompiledModel:
        cols = np.concatenate(self.entry_cols) if self.entry_cols else np.zeros(0, dtype=np.int64)
        rows = np.concatenate(self.entry_rows) if self.entry_rows else np.zeros(0, dtype=np.int64)
        vals = np.concatenate(self.entry_vals) if self.entry_vals else np.zeros(0)
        order = np.lexsort((rows, cols))
        cols, rows, vals = cols[order], rows[order], vals[order]
        start = np.zeros(self.num_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=self.num_cols), out=start[1:])
        return CompiledModel(
            cost=self._flat_cost(),
            lower=np.concatenate(self.lower) if self.lower else np.zeros(0),
            upper=np.concatenate(self.upper) if self.upper else np.zeros(0),
            integer=np.concatenate(self.integer) if self.integer else np.zeros(0, dtype=bool),
            row_lower=np.concatenate(self.row_lower) if self.row_lower else np.zeros(0),
            row_upper=np.concatenate(self.row_upper) if self.row_upper else np.zeros(0),
            start=start,
            index=rows,
            value=vals,
            offset=self.offset,
        )


def take(x: FloatArray, cols: IntArray) -> FloatArray:
    """Values of ``cols`` in ``x``; a column index of -1 (no variable in that step) reads as 0."""
    result: FloatArray = np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0)
    return result


def put(x: FloatArray, cols: IntArray, values: FloatArray) -> None:
    """Write ``values`` into ``x`` at ``cols``, skipping -1 entries."""
    mask = cols >= 0
    x[cols[mask]] = values[mask]


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """Column-wise (CSC) form of a :class:`MatrixModel`, ready for a solver."""

    cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    integer: npt.NDArray[np.bool_]
    row_lower: FloatArray
    row_upper: FloatArray
    start: IntArray
    index: IntArray
    value: FloatArray
    offset: float

    @property
    def num_cols(self) -> int:
        return int(self.cost.size)

    @property
    def num_rows(self) -> int:
        return int(self.row_lower.size)

    @property
    def num_integer(self) -> int:
        return int(self.integer.sum())

    def activity(self, x: FloatArray) -> FloatArray:
        """``A x`` (used to check a solution)."""
        out = np.zeros(self.num_rows)
        col_of_entry = np.repeat(np.arange(self.num_cols), np.diff(self.start))
        np.add.at(out, self.index, self.value * x[col_of_entry])
        return out
