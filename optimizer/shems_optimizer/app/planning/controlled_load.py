"""What SHEMS itself switches: the power its plans give the EVs, appliances and thermal loads.

The home's measured load contains those loads, while the planner adds them on top of the base-load
forecast. Learned as base load, last night's EV charge would be planned twice tonight: once as "the
house draws 13 kW at 02:00", once as the EV's own charge — and the battery would be told to cover
a load that never comes. So the power the plan in force gave them in each 15-minute bucket is taken
off the measured history before the load forecaster learns from it.

Kept in memory for the forecaster's month of history; after a restart, the buckets from before it
count as base load until they age out (what a home without SHEMS would have had anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shems_optimizer.core.plan import Plan
from shems_optimizer.core.timegrid import floor_quarter

History = tuple[tuple[datetime, float], ...]  # (bucket start UTC, mean W)


@dataclass
class ControlledLoad:
    keep: timedelta = timedelta(days=35)
    # Per asset: bucket start -> W the plan in force gave it.
    _watts: dict[str, dict[datetime, float]] = field(default_factory=dict)
    # Per appliance: the start of its run in the last plan that had it.
    _run_start: dict[str, datetime] = field(default_factory=dict)

    def record(self, plan: Plan) -> None:
        """Each asset's steps in a new plan replace what earlier plans said for them: for a bucket in
        the past, the last plan made before it ended is the one that was executed. A run that has
        started leaves the plans (nothing of it waits any more) and keeps what was planned for it; so does
        a run that leaves them in the step it was planned to start in."""
        starts = plan.grid.starts
        if not starts:
            return
        first = floor_quarter(starts[0])
        curves: dict[str, tuple[float, ...]] = {ev.name: ev.charge_kw for ev in plan.evs}
        curves.update({load.name: load.power_kw for load in plan.thermal})
        curves.update({app.name: app.power_kw for app in plan.appliances})
        for app in plan.appliances:
            if app.start is not None:
                self._run_start[app.name] = app.start
        for name in [n for n in self._watts if n not in curves]:
            # Gone from the plans by the step its run was to start in: its start timer started it
            # (the plan made at that step no longer waits for it). Gone before: nothing ran.
            started = self._run_start.get(name)
            if started is None or floor_quarter(started) > first:
                self._watts[name] = {b: w for b, w in self._watts[name].items() if b < first}
        for name, kw in curves.items():
            buckets = self._watts.setdefault(name, {})
            for start, value in zip(starts, kw, strict=True):
                buckets[floor_quarter(start)] = value * 1000.0
        oldest = first - self.keep
        for buckets in self._watts.values():
            for bucket in [b for b in buckets if b < oldest]:
                del buckets[bucket]

    def watts(self, bucket: datetime) -> float:
        return sum(buckets.get(bucket, 0.0) for buckets in self._watts.values())

    def base_load(self, history: Sequence[tuple[datetime, float]]) -> History:
        """The measured home load without what SHEMS switched (never below 0 W)."""
        return tuple((at, max(0.0, watts - self.watts(floor_quarter(at)))) for at, watts in history)
