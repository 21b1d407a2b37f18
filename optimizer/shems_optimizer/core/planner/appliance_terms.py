"""Deferrable appliances: run-once power profiles and interruptible energy needs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shems_optimizer.core.model.assets import EnergyAppliance, ProfileAppliance
from shems_optimizer.core.planner.context import BuildContext
from shems_optimizer.core.planner.lazy import ChoiceSet, OnOffSchedule, SemiContinuous
from shems_optimizer.core.planner.matrix import IntArray
from shems_optimizer.core.timegrid import FloatArray, TimeGrid


@dataclass(frozen=True, eq=False)
class ProfileColumns:
    appliance: ProfileAppliance
    candidates: IntArray  # step index of every allowed start
    choose: IntArray  # binary per candidate
    energy: FloatArray  # (candidates, steps) kWh drawn in each step for each start
    missed: IntArray | None  # 1 if the programme does not run in this horizon
    after_horizon: bool  # nothing to plan yet: it runs after this horizon (and may still be on time)


@dataclass(frozen=True, eq=False)
class EnergyColumns:
    appliance: EnergyAppliance
    power: IntArray
    window: tuple[int, int]
    required_kwh: float
    missed: IntArray | None
    after_horizon: bool


def profile_energy(appliance: ProfileAppliance, grid: TimeGrid, candidates: IntArray) -> FloatArray:
    """kWh each grid step receives when the programme starts at each candidate step start.

    The programme's cumulative energy curve is evaluated at the grid boundaries relative to every
    start and differenced, so profiles at 15-min resolution land correctly on 5-, 30- or 60-min
    steps, on variable steps and across DST.
    """
    step_h = appliance.profile_step.total_seconds() / 3600.0
    edges_h = np.arange(len(appliance.profile_kw) + 1) * step_h
    cumulative = np.concatenate(([0.0], np.cumsum(np.asarray(appliance.profile_kw) * step_h)))
    seconds = grid.epoch_seconds
    offsets_h = (seconds[None, :] - seconds[candidates][:, None]) / 3600.0
    at = np.interp(offsets_h, edges_h, cumulative)
    result: FloatArray = np.diff(at, axis=1)
    return result


def add_profile_appliance(ctx: BuildContext, appliance: ProfileAppliance) -> ProfileColumns:
    m, grid = ctx.model, ctx.grid
    seconds = grid.epoch_seconds
    after = appliance.earliest_start is not None and appliance.earliest_start >= grid.end
    first, _ = ctx.window(appliance.earliest_start, None)
    deadline = seconds[-1]
    if appliance.latest_finish is not None:
        deadline = min(deadline, appliance.latest_finish.timestamp())
    duration_s = appliance.duration.total_seconds()
    starts = np.arange(first, grid.steps)
    candidates = starts[seconds[starts] + duration_s <= deadline + 1e-6].astype(np.int64)
    if candidates.size == 0 and appliance.latest_finish is not None and appliance.latest_finish > grid.end:
        # It cannot run inside this plan but may still finish in time after it: a later plan runs it.
        after = True
    energy = profile_energy(appliance, grid, candidates) if candidates.size else np.zeros((0, grid.steps))
    choose = m.add_cols(f"{appliance.name}.start", candidates.size, 0.0, 1.0)
    ctx.lazy.append(ChoiceSet(choose))
    missed = None
    if not after:
        missed = m.add_cols(
            f"{appliance.name}.missed", 1, 0.0, 1.0, ctx.goal_penalty * max(appliance.energy_kwh, 0.1)
        )
        row = m.add_rows(1, 1.0, 1.0)
        m.add_entries(np.full(candidates.size, row[0]), choose, 1.0)
        m.add_entries(row, missed, 1.0)
    if candidates.size:
        cand_idx, step_idx = np.nonzero(energy > 1e-12)
        kw = energy[cand_idx, step_idx] / grid.hours[step_idx]
        m.add_entries(ctx.balance[step_idx], choose[cand_idx], -kw)
    return ProfileColumns(
        appliance=appliance,
        candidates=candidates,
        choose=choose,
        energy=energy,
        missed=missed,
        after_horizon=after,
    )


def add_energy_appliance(ctx: BuildContext, appliance: EnergyAppliance) -> EnergyColumns:
    m, grid, dt = ctx.model, ctx.grid, ctx.dt
    after = appliance.earliest_start is not None and appliance.earliest_start >= grid.end
    first, last = ctx.window(appliance.earliest_start, appliance.latest_finish)
    power = m.add_window_cols(f"{appliance.name}.power", grid.steps, first, last, appliance.max_power_kw)
    ctx.demand(power)
    active = power[first:last]
    if appliance.is_on_off and last > first:
        if appliance.min_on.total_seconds() > 0 or appliance.min_off.total_seconds() > 0:
            ctx.lazy.append(
                OnOffSchedule(
                    name=appliance.name,
                    power=active,
                    starts_s=grid.epoch_seconds[first:last],
                    min_kw=appliance.min_power_kw,
                    max_kw=appliance.max_power_kw,
                    min_on_s=appliance.min_on.total_seconds(),
                    min_off_s=appliance.min_off.total_seconds(),
                )
            )
        elif appliance.min_power_kw > 0:
            ctx.lazy.append(SemiContinuous(active, appliance.min_power_kw, appliance.max_power_kw))
    missed = None
    energy = appliance.energy_kwh
    if appliance.latest_finish is not None and appliance.latest_finish > grid.end:
        # Energy that still fits after the horizon (before the deadline) need not be taken now.
        later_h = (
            appliance.latest_finish - max(grid.end, appliance.earliest_start or grid.end)
        ).total_seconds()
        required = max(0.0, energy - appliance.max_power_kw * later_h / 3600.0)
    else:
        required = energy
    if not after and required > 0:
        missed = m.add_cols(f"{appliance.name}.missed", 1, 0.0, required, ctx.goal_penalty)
        row = m.add_rows(1, required, energy)
        if last > first:
            m.add_entries(np.full(last - first, row[0]), active, dt[first:last])
        m.add_entries(row, missed, 1.0)
    elif last > first:
        row = m.add_rows(1, 0.0, energy)
        m.add_entries(np.full(last - first, row[0]), active, dt[first:last])
    return EnergyColumns(
        appliance=appliance,
        power=power,
        window=(first, last),
        missed=missed,
        after_horizon=after,
        required_kwh=required if not after else 0.0,
    )
