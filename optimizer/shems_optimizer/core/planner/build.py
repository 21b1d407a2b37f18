"""Assemble the planning MILP for a site and series from the per-asset term builders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shems_optimizer.core.model.assets import EnergyAppliance, ProfileAppliance
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.series import Series
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.planner.appliance_terms import (
    EnergyColumns,
    ProfileColumns,
    add_energy_appliance,
    add_profile_appliance,
)
from shems_optimizer.core.planner.battery_terms import BatteryColumns, add_battery
from shems_optimizer.core.planner.context import BuildContext
from shems_optimizer.core.planner.ev_terms import EVColumns, add_ev
from shems_optimizer.core.planner.grid_terms import GridColumns, add_grid, limit_export_to_surplus
from shems_optimizer.core.planner.matrix import IntArray, MatrixModel
from shems_optimizer.core.planner.options import Options
from shems_optimizer.core.planner.thermal_terms import ThermalColumns, add_thermal
from shems_optimizer.core.timegrid import FloatArray, step_average


@dataclass(frozen=True, eq=False)
class BuiltModel:
    context: BuildContext
    grid: GridColumns
    batteries: tuple[BatteryColumns, ...]
    evs: tuple[EVColumns, ...]
    profiles: tuple[ProfileColumns, ...]
    energies: tuple[EnergyColumns, ...]
    thermal: tuple[ThermalColumns, ...]
    stability: tuple[IntArray, ...]


def build_model(site: Site, series: Series, options: Options) -> BuiltModel:
    if series.grid.steps == 0:
        raise ConfigError("series", "the horizon has no steps")
    buy, sell = series.prices(site)
    model = MatrixModel()
    steps = series.grid.steps
    balance = model.add_rows(steps, series.load_kw - series.pv_kw, series.load_kw - series.pv_kw)
    price_scale = float(max(np.max(np.abs(buy)), np.max(np.abs(sell)), 0.0))
    goal_penalty = max(options.penalties.goal_eur_per_kwh, 5.0 * price_scale)
    ctx = BuildContext(
        site=site,
        series=series,
        options=options,
        model=model,
        buy=buy,
        sell=sell,
        balance=balance,
        goal_penalty=goal_penalty,
    )
    no_export = [b.may_export is False for b in site.batteries]
    grid_cols = add_grid(ctx, all_batteries_no_export=bool(no_export) and all(no_export))
    batteries = tuple(add_battery(ctx, b) for b in site.batteries)
    if any(no_export) and not all(no_export):
        limit_export_to_surplus(ctx, grid_cols, [c.discharge for c in batteries if c.battery.may_export])
    evs = tuple(add_ev(ctx, ev) for ev in site.evs)
    profiles = tuple(
        add_profile_appliance(ctx, a) for a in site.appliances if isinstance(a, ProfileAppliance)
    )
    energies = tuple(add_energy_appliance(ctx, a) for a in site.appliances if isinstance(a, EnergyAppliance))
    thermal = tuple(add_thermal(ctx, t) for t in site.thermal)
    stability = _add_stability(ctx, batteries, evs) + _keep_appliance_starts(ctx, profiles)
    return BuiltModel(
        context=ctx,
        grid=grid_cols,
        batteries=batteries,
        evs=evs,
        profiles=profiles,
        energies=energies,
        thermal=thermal,
        stability=stability,
    )


def _add_stability(
    ctx: BuildContext, batteries: tuple[BatteryColumns, ...], evs: tuple[EVColumns, ...]
) -> tuple[IntArray, ...]:
    """Penalise |power − previous plan's power| for batteries and EVs where the plans overlap."""
    previous = ctx.options.previous_plan
    weight = ctx.options.stability_eur_per_kwh
    if previous is None or weight <= 0:
        return ()
    out: list[IntArray] = []
    prev_seconds = previous.grid.epoch_seconds
    grid_seconds = ctx.grid.epoch_seconds
    covered = (grid_seconds[:-1] >= prev_seconds[0] - 1e-6) & (grid_seconds[1:] <= prev_seconds[-1] + 1e-6)
    if not covered.any():
        return ()
    steps = np.flatnonzero(covered)

    def aligned(values: tuple[float, ...]) -> FloatArray:
        return step_average(
            prev_seconds[:-1], np.asarray(values, dtype=np.float64), ctx.grid, prev_seconds[-1]
        )[steps]

    terms: list[tuple[list[tuple[IntArray, float]], FloatArray, str]] = []
    names_b = {b.name for b in previous.batteries}
    for cols in batteries:
        if cols.battery.name in names_b:
            plan = previous.battery(cols.battery.name)
            target = aligned(plan.discharge_kw) - aligned(plan.charge_kw)
            terms.append(
                ([(cols.discharge[steps], 1.0), (cols.charge[steps], -1.0)], target, cols.battery.name)
            )
    names_e = {e.name for e in previous.evs}
    for ev_cols in evs:
        if ev_cols.ev.name in names_e:
            target = aligned(previous.ev(ev_cols.ev.name).charge_kw)
            terms.append(([(ev_cols.charge[steps], 1.0)], target, ev_cols.ev.name))
    m = ctx.model
    for power_terms, target, name in terms:
        dev = m.add_cols(f"{name}.deviation", steps.size, 0.0, np.inf, weight * ctx.dt[steps])
        # dev >= power − target ; dev >= target − power
        m.add_constraints([(dev, 1.0)] + [(c, -k) for c, k in power_terms], -target, np.inf)
        m.add_constraints([(dev, 1.0)] + [(c, k) for c, k in power_terms], target, np.inf)
        out.append(dev)
    return tuple(out)


def _keep_appliance_starts(ctx: BuildContext, profiles: tuple[ProfileColumns, ...]) -> tuple[IntArray, ...]:
    """Moving a run the previous plan placed costs ``appliance_move_eur_per_kwh`` × its energy.

    Re-planned every step on fresh forecasts, near-equal start times would otherwise take turns; a
    person who saw "starts at 13:00" should see it move only for a real saving.
    """
    previous = ctx.options.previous_plan
    weight = ctx.options.appliance_move_eur_per_kwh
    if previous is None or weight <= 0:
        return ()
    planned = {a.name: a.start for a in previous.appliances if a.start is not None}
    out: list[IntArray] = []
    seconds = ctx.grid.epoch_seconds
    for cols in profiles:
        start = planned.get(cols.appliance.name)
        if start is None or cols.candidates.size == 0:
            continue
        kept = np.abs(seconds[cols.candidates] - start.timestamp()) < 1.0
        if not kept.any():
            continue  # its previous start is no longer allowed: every start costs the same
        moved = cols.choose[~kept]
        ctx.model.add_cost(moved, weight * max(cols.appliance.energy_kwh, 0.1))
        out.append(moved)
    return tuple(out)
