"""The grid connection, PV and the last-resort slacks that keep every model feasible."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shems_optimizer.core.planner.context import BuildContext
from shems_optimizer.core.planner.matrix import IntArray


@dataclass(frozen=True, eq=False)
class GridColumns:
    imports: IntArray
    exports: IntArray
    curtailed: IntArray
    unserved: IntArray
    peak: IntArray | None


def add_grid(ctx: BuildContext, all_batteries_no_export: bool) -> GridColumns:
    """Import/export within limits, PV curtailment and unserved load, all tied to the balance rows."""
    m, site, series = ctx.model, ctx.site, ctx.series
    steps, dt = ctx.steps, ctx.dt
    penalties = ctx.options.penalties
    if ctx.options.objective == "self_consumption":
        buy_weight = np.ones(steps)
        sell_weight = np.zeros(steps)
    else:
        buy_weight, sell_weight = ctx.buy, ctx.sell

    surplus = np.maximum(series.pv_kw - series.load_kw, 0.0)
    export_cap = np.full(steps, site.grid.export_limit_kw)
    if all_batteries_no_export and site.batteries:
        # No battery may feed the grid: what leaves the house is at most the PV surplus.
        export_cap = np.minimum(export_cap, surplus)
    imports = m.add_cols("grid_import", steps, 0.0, site.grid.import_limit_kw, buy_weight * dt)
    exports = m.add_cols("grid_export", steps, 0.0, export_cap, -sell_weight * dt)
    curtail_cost = 0.0 if site.pv.curtailable else penalties.last_resort_eur_per_kwh
    curtailed = m.add_cols("pv_curtailed", steps, 0.0, series.pv_kw, curtail_cost * dt)
    unserved = m.add_cols("unserved_load", steps, 0.0, series.load_kw, penalties.last_resort_eur_per_kwh * dt)
    ctx.supply(imports)
    ctx.demand(exports)
    ctx.demand(curtailed)
    ctx.supply(unserved)
    if ctx.options.exclusive_grid_direction and np.any(sell_weight > buy_weight):
        # Only when selling pays more than buying could a plan want both at once; otherwise the
        # extractor cancels any simultaneous import/export (never costlier) and no binary is needed.
        ctx.add_switch(imports, exports, np.full(steps, site.grid.import_limit_kw), export_cap)
    peak = None
    if site.grid.peak_demand_charge_eur_per_kw > 0:
        peak = m.add_cols(
            "peak_import", 1, 0.0, site.grid.import_limit_kw, site.grid.peak_demand_charge_eur_per_kw
        )
        m.add_constraints([(imports, 1.0), (np.full(steps, peak[0]), -1.0)], -np.inf, 0.0)
    return GridColumns(imports=imports, exports=exports, curtailed=curtailed, unserved=unserved, peak=peak)


def limit_export_to_surplus(ctx: BuildContext, grid: GridColumns, exporter_discharge: list[IntArray]) -> None:
    """Mixed fleet: export <= PV surplus + discharge of the batteries that may export."""
    surplus = np.maximum(ctx.series.pv_kw - ctx.series.load_kw, 0.0)
    terms: list[tuple[IntArray, float]] = [(grid.exports, 1.0)]
    terms += [(cols, -1.0) for cols in exporter_discharge]
    ctx.model.add_constraints(terms, -np.inf, surplus)
