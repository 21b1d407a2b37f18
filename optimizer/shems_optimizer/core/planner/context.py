"""Shared state while one planning model is built: the matrix, the horizon and the balance rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from shems_optimizer.core.model.series import Series
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.planner.lazy import LazyGroup, SwitchPair
from shems_optimizer.core.planner.matrix import IntArray, MatrixModel
from shems_optimizer.core.planner.options import Options
from shems_optimizer.core.timegrid import FloatArray, TimeGrid


@dataclass(eq=False)
class BuildContext:
    site: Site
    series: Series
    options: Options
    model: MatrixModel
    buy: FloatArray
    sell: FloatArray
    # Row t of the power balance: Σ supply − Σ demand = load_t − pv_t (kW).
    balance: IntArray
    goal_penalty: float
    lazy: list[LazyGroup] = field(default_factory=list)

    @property
    def grid(self) -> TimeGrid:
        return self.series.grid

    @property
    def steps(self) -> int:
        return self.series.grid.steps

    @property
    def dt(self) -> FloatArray:
        return self.series.grid.hours

    def supply(self, cols: IntArray, scale: float | FloatArray = 1.0) -> None:
        """Columns that feed the house bus in their step (kW)."""
        self._bus(cols, np.asarray(scale, dtype=np.float64))

    def demand(self, cols: IntArray, scale: float | FloatArray = 1.0) -> None:
        """Columns that draw from the house bus in their step (kW)."""
        self._bus(cols, -np.asarray(scale, dtype=np.float64))

    def _bus(self, cols: IntArray, scale: FloatArray) -> None:
        keep = cols >= 0
        values = np.broadcast_to(scale, cols.shape)[keep]
        self.model.add_entries(self.balance[: len(cols)][keep], cols[keep], values)

    def add_switch(
        self, first: IntArray, second: IntArray, first_max: FloatArray, second_max: FloatArray
    ) -> None:
        """Declare that ``first`` and ``second`` must never both be positive in a step.

        The binaries that enforce it are added lazily (:mod:`~shems_optimizer.core.planner.lazy`), only for
        the steps where a solution actually uses both sides (most plans need none of them).
        """
        self.lazy.append(SwitchPair(first, second, np.asarray(first_max), np.asarray(second_max)))

    def window(self, earliest: datetime | None, latest: datetime | None) -> tuple[int, int]:
        """Steps ``[i, j)`` that lie entirely inside ``[earliest, latest]`` (None: open end)."""
        i = 0 if earliest is None else self.grid.index_at_or_after(earliest)
        j = self.steps if latest is None else min(self.steps, self.grid.index_at_or_before(latest))
        return max(0, min(i, self.steps)), max(0, j)
