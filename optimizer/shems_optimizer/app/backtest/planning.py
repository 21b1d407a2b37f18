"""One MPC planning call: forecasts in, the planner's plan out, as control-ready plan steps."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd

from shems_optimizer.core.control.derive import PlanStep
from shems_optimizer.core.model.series import Series
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.planner import Options, optimize
from shems_optimizer.core.timegrid import TimeGrid


def plan_battery(
    site: Site,
    soc: float,
    index: pd.DatetimeIndex,
    step_length: pd.Timedelta,
    load_w: np.ndarray,
    pv_w: np.ndarray,
    buy: np.ndarray | None,
    sell: np.ndarray | None,
    options: Options,
) -> tuple[list[PlanStep], str]:
    """Plan the site's battery over ``index`` starting from ``soc``; returns steps and solver status."""
    step = timedelta(seconds=step_length.total_seconds())
    grid = TimeGrid.uniform(index[0].to_pydatetime(), step, len(index), site.timezone)
    battery = site.batteries[0]
    soc = min(max(soc, 0.0), 1.0)
    site_now = replace(site, batteries=(replace(battery, initial_soc=soc),))
    series = Series.from_arrays(
        grid,
        load_kw=np.maximum(load_w, 0.0) / 1000.0,
        pv_kw=np.maximum(pv_w, 0.0) / 1000.0,
        buy_eur_per_kwh=buy,
        sell_eur_per_kwh=sell,
    )
    plan = optimize(site_now, series, options)
    bat = plan.batteries[0]
    power = plan.power
    socs = (bat.soc_start, *bat.soc)
    steps = [
        PlanStep(
            start=grid.boundaries[i],
            end=grid.boundaries[i + 1],
            load_w=power.load_kw[i] * 1000.0,
            pv_w=(power.pv_forecast_kw[i] - power.pv_curtailed_kw[i]) * 1000.0,
            charge_w=bat.charge_kw[i] * 1000.0,
            discharge_w=bat.discharge_kw[i] * 1000.0,
            soc_start=socs[i],
            soc_end=socs[i + 1],
            grid_import_w=power.import_kw[i] * 1000.0,
            grid_export_w=power.export_kw[i] * 1000.0,
        )
        for i in range(len(index))
    ]
    return steps, plan.status
