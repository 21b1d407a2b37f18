"""The base load the forecaster learns excludes what SHEMS itself switched (EV charge, runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shems_optimizer.app.planning.controlled_load import ControlledLoad
from shems_optimizer.core.model import Grid, Series, Site
from shems_optimizer.core.model.assets import ElectricVehicle, ProfileAppliance
from shems_optimizer.core.planner import optimize
from shems_optimizer.core.timegrid import TimeGrid

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
BASE_W = 400.0


def night(buy: list[float]) -> Series:
    grid = TimeGrid.uniform(START, timedelta(minutes=15), len(buy))
    n = len(buy)
    return Series.from_arrays(
        grid, load_kw=[BASE_W / 1000] * n, pv_kw=[0.0] * n, buy_eur_per_kwh=buy, sell_eur_per_kwh=[0.0] * n
    )


def test_what_the_plan_switched_is_taken_off_the_measured_load() -> None:
    car = ElectricVehicle("car", 60, 0.5, 0.55, 11.0, departure=START + timedelta(hours=2))
    washer = ProfileAppliance("washer", (2.0, 2.0))
    site = Site(grid=Grid(20, 20), evs=(car,), appliances=(washer,))
    plan = optimize(site, night([0.3, 0.3, 0.1, 0.1, 0.3, 0.3, 0.3, 0.3]))
    controlled = ControlledLoad()
    controlled.record(plan)
    # What the meter saw: the base load plus the charge and the run, as executed.
    switched = [
        1000 * (plan.ev("car").charge_kw[i] + plan.appliance("washer").power_kw[i])
        for i in range(plan.grid.steps)
    ]
    assert sum(switched) > 0
    measured = [(start, BASE_W + w) for start, w in zip(plan.grid.starts, switched, strict=True)]
    assert [w for _, w in controlled.base_load(measured)] == pytest.approx([BASE_W] * plan.grid.steps)


def test_a_later_plan_replaces_what_an_earlier_one_said_and_nothing_goes_below_zero() -> None:
    car = ElectricVehicle("car", 60, 0.5, 0.55, 11.0, departure=START + timedelta(hours=2))
    charging = optimize(Site(grid=Grid(20, 20), evs=(car,)), night([0.1] * 8))
    controlled = ControlledLoad()
    controlled.record(charging)
    unplugged = optimize(Site(grid=Grid(20, 20)), night([0.1] * 8))  # the car left: nothing switched
    controlled.record(unplugged)
    measured = [(start, BASE_W) for start in unplugged.grid.starts]
    assert [w for _, w in controlled.base_load(measured)] == [BASE_W] * 8
    controlled.record(charging)
    assert min(w for _, w in controlled.base_load(measured)) == 0.0  # less measured than planned


def test_a_run_that_started_keeps_its_power_after_it_left_the_plans() -> None:
    washer = ProfileAppliance("washer", (2.0, 2.0))
    prices = night([0.1, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    started = optimize(Site(grid=Grid(20, 20), appliances=(washer,)), prices)
    assert started.appliance("washer").start == START
    controlled = ControlledLoad()
    controlled.record(started)
    # Made during the run's second step: the washer runs, nothing of it waits, so it is not planned.
    grid = TimeGrid.uniform(START + timedelta(minutes=15), timedelta(minutes=15), 7)
    later = Series.from_arrays(
        grid, load_kw=[0.4] * 7, pv_kw=[0.0] * 7, buy_eur_per_kwh=[0.1] * 7, sell_eur_per_kwh=[0.0] * 7
    )
    controlled.record(optimize(Site(grid=Grid(20, 20)), later))
    measured = [(START, 2400.0), (START + timedelta(minutes=15), 2400.0)]
    assert [w for _, w in controlled.base_load(measured)] == [400.0, 400.0]


def test_a_run_that_left_the_plans_in_its_start_step_keeps_its_power() -> None:
    washer = ProfileAppliance("washer", (2.0, 2.0))
    prices = night([0.3, 0.1, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3])
    planned = optimize(Site(grid=Grid(20, 20), appliances=(washer,)), prices)
    assert planned.appliance("washer").start == START + timedelta(minutes=15)
    controlled = ControlledLoad()
    controlled.record(planned)
    # Made at its planned start, after the start timer switched it on: it no longer waits.
    grid = TimeGrid.uniform(START + timedelta(minutes=15), timedelta(minutes=15), 7)
    later = Series.from_arrays(
        grid, load_kw=[0.4] * 7, pv_kw=[0.0] * 7, buy_eur_per_kwh=[0.1] * 7, sell_eur_per_kwh=[0.0] * 7
    )
    controlled.record(optimize(Site(grid=Grid(20, 20)), later))
    measured = [(START + timedelta(minutes=15 * q), 2400.0) for q in (1, 2)]
    assert [w for _, w in controlled.base_load(measured)] == [400.0, 400.0]


def test_a_run_that_never_started_is_not_taken_off() -> None:
    washer = ProfileAppliance("washer", (2.0,))
    prices = night([0.3, 0.3, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3])
    planned = optimize(Site(grid=Grid(20, 20), appliances=(washer,)), prices)
    assert planned.appliance("washer").start == START + timedelta(minutes=30)
    controlled = ControlledLoad()
    controlled.record(planned)
    # Run by hand before its planned start: it leaves the plans without SHEMS having started it.
    controlled.record(optimize(Site(grid=Grid(20, 20)), night([0.3] * 8)))
    assert controlled.watts(START + timedelta(minutes=30)) == 0.0


def test_buckets_older_than_the_kept_history_are_forgotten() -> None:
    controlled = ControlledLoad(keep=timedelta(hours=1))
    car = ElectricVehicle("car", 60, 0.5, 0.9, 11.0, departure=START + timedelta(hours=2))
    controlled.record(optimize(Site(grid=Grid(20, 20), evs=(car,)), night([0.1] * 8)))
    assert controlled.base_load([(START, 11000.0)]) == ((START, 0.0),)  # charging at full power
    grid = TimeGrid.uniform(START + timedelta(hours=3), timedelta(minutes=15), 4)
    empty = Series.from_arrays(
        grid, load_kw=[0.4] * 4, pv_kw=[0.0] * 4, buy_eur_per_kwh=[0.1] * 4, sell_eur_per_kwh=[0.0] * 4
    )
    controlled.record(optimize(Site(grid=Grid(20, 20)), empty))
    assert controlled.base_load([(START, 11000.0)]) == ((START, 11000.0),)
