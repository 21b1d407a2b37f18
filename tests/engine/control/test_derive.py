"""Plan steps -> modes, and the promise behind it: with perfect forecasts the modes reproduce the plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shems_optimizer.core.control import (
    BatteryLimits,
    ChargeFromGrid,
    DischargeToGrid,
    LocalController,
    PlanStep,
    SelfConsume,
    commands_from_plan,
    derive_mode,
)

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)


def step(**kw: float) -> PlanStep:
    base = PlanStep(
        start=T0,
        end=T0 + timedelta(minutes=30),
        load_w=1000,
        pv_w=0,
        charge_w=0,
        discharge_w=0,
        soc_start=0.5,
        soc_end=0.5,
        grid_import_w=1000,
        grid_export_w=0,
    )
    return replace(base, **kw)


@pytest.mark.parametrize(
    ("plan_step", "expected"),
    [
        # charging 3 kW with no PV: from the grid, to the planned end SOC
        (step(charge_w=3000, soc_end=0.64, grid_import_w=4000), ChargeFromGrid(0.64, 3000)),
        # discharging 3 kW into a 1 kW deficit: 2 kW exported on purpose
        (
            step(discharge_w=3000, soc_end=0.42, grid_import_w=0, grid_export_w=2000),
            DischargeToGrid(0.42, 3000),
        ),
        # covering the whole deficit: plain self-consumption
        (step(discharge_w=1000, soc_end=0.447, grid_import_w=0), SelfConsume(0.1, 0.9)),
        # importing while the battery could discharge: keep the energy (floor = planned SOC)
        (step(), SelfConsume(0.5, 0.9)),
        # partly covering the deficit: floor at the planned end SOC
        (step(load_w=3000, discharge_w=1000, soc_end=0.447, grid_import_w=2000), SelfConsume(0.447, 0.9)),
        # exporting PV while the battery could charge: keep room (ceiling = planned SOC)
        (step(load_w=0, pv_w=3000, grid_import_w=0, grid_export_w=3000), SelfConsume(0.1, 0.5)),
        # storing all surplus: plain self-consumption
        (step(load_w=0, pv_w=3000, charge_w=3000, soc_end=0.6425, grid_import_w=0), SelfConsume(0.1, 0.9)),
        # empty battery importing: the floor is soc_min anyway
        (step(soc_start=0.1, soc_end=0.1), SelfConsume(0.1, 0.9)),
        # simultaneous charge and discharge (solver degeneracy) is read as the net flow
        (step(charge_w=500, discharge_w=1500, soc_end=0.45, grid_import_w=0), SelfConsume(0.1, 0.9)),
    ],
)
def test_derive_mode(plan_step: PlanStep, expected: object, limits: BatteryLimits) -> None:
    assert derive_mode(plan_step, limits) == expected


def test_modes_reproduce_a_real_plan_when_forecasts_are_right(limits: BatteryLimits) -> None:
    """Plan 48 h with the optimizer on varied prices, then execute its modes against the very load and
    PV it planned for: SOC and grid exchange must follow the plan step by step."""
    from shems_optimizer.core.model.assets import Battery
    from shems_optimizer.core.model.series import Series
    from shems_optimizer.core.model.site import Site
    from shems_optimizer.core.planner import Options, optimize
    from shems_optimizer.core.timegrid import TimeGrid

    steps = 96
    grid = TimeGrid.uniform(T0.replace(hour=0), timedelta(minutes=30), steps, "Europe/Paris")
    hours = np.arange(steps) / 2
    load_kw = (
        0.4 + 0.8 * ((hours % 24 > 18) & (hours % 24 < 22)) + 0.3 * ((hours % 24 > 6) & (hours % 24 < 8))
    )
    pv_kw = np.clip(4.0 * np.sin((hours % 24 - 6) / 14 * np.pi), 0, None)
    spot = 0.08 + 0.10 * np.sin((hours - 3) / 24 * 2 * np.pi) + 0.12 * ((hours % 24 > 17) & (hours % 24 < 21))
    battery = Battery("battery", 10, 5, 5, initial_soc=0.3, soc_min=0.1, soc_max=0.9)
    site = Site(name="t", timezone="Europe/Paris", batteries=(battery,))
    series = Series.from_arrays(
        grid, load_kw=load_kw, pv_kw=pv_kw, buy_eur_per_kwh=spot + 0.2, sell_eur_per_kwh=spot
    )
    plan = optimize(site, series, Options(compute_baseline=False))
    bat = plan.batteries[0]
    socs = (bat.soc_start, *bat.soc)
    plan_steps = [
        PlanStep(
            start=grid.boundaries[i],
            end=grid.boundaries[i + 1],
            load_w=load_kw[i] * 1000,
            pv_w=pv_kw[i] * 1000,
            charge_w=bat.charge_kw[i] * 1000,
            discharge_w=bat.discharge_kw[i] * 1000,
            soc_start=socs[i],
            soc_end=socs[i + 1],
            grid_import_w=plan.power.import_kw[i] * 1000,
            grid_export_w=plan.power.export_kw[i] * 1000,
        )
        for i in range(steps)
    ]
    modes = [c.battery for c in commands_from_plan(plan_steps, limits)]
    assert any(isinstance(m, ChargeFromGrid) for m in modes) or any(
        isinstance(m, SelfConsume) and m.soc_floor > limits.soc_min for m in modes
    ), "the price spread should make the plan store energy for the evening"
    controller = LocalController(limits)
    soc = bat.soc_start
    for i, mode in enumerate(modes):
        tick = controller.tick(mode, load_kw[i] * 1000, pv_kw[i] * 1000, soc, 1800)
        soc = tick.soc
        assert soc == pytest.approx(bat.soc[i], abs=0.01), f"step {i}: {mode}"
        planned_grid = (plan.power.import_kw[i] - plan.power.export_kw[i]) * 1000
        assert tick.grid_w == pytest.approx(planned_grid, abs=120), f"step {i}: {mode}"
