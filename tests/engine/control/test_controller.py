"""The local controller: every mode against hand-checkable numbers (1 h ticks, 10 kWh battery)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from shems_optimizer.core.control import (
    BatteryLimits,
    ChargeFromGrid,
    DischargeToGrid,
    Hold,
    LocalController,
    SelfConsume,
)

HOUR = 3600.0


@pytest.mark.parametrize(
    ("mode", "load", "pv", "soc", "battery_w", "grid_w", "soc_after"),
    [
        # deficit 1 kW covered by the battery: 1000 W AC removes 1000/0.95 Wh
        (SelfConsume(0.1, 0.9), 1500, 500, 0.5, -1000, 0, 0.5 - 1000 / 0.95 / 10_000),
        # surplus 2 kW stored: 2000 W AC adds 1900 Wh
        (SelfConsume(0.1, 0.9), 500, 2500, 0.5, 2000, 0, 0.69),
        # floor at 45 %: only 5 % x 10 kWh x 0.95 = 475 W can come out in one hour
        (SelfConsume(0.45, 0.9), 1500, 500, 0.5, -475, 525, 0.45),
        # ceiling at 52 %: room for 200 Wh, i.e. 200/0.95 W AC
        (SelfConsume(0.1, 0.52), 500, 2500, 0.5, 200 / 0.95, -2000 + 200 / 0.95, 0.52),
        # surplus beyond the 5 kW charge limit is exported
        (SelfConsume(0.1, 0.9), 0, 7000, 0.2, 5000, -2000, 0.675),
        # hold: the grid balances the home
        (Hold(), 1500, 500, 0.5, 0, 1000, 0.5),
        # charge from the grid to 60 % at up to 3 kW: 3000 W adds 2850 Wh -> capped by the 1000 Wh room
        (ChargeFromGrid(0.6, 3000), 1000, 0, 0.5, 1000 / 0.95, 1000 + 1000 / 0.95, 0.6),
        # charge at the power limit when the target is far
        (ChargeFromGrid(0.9, 2000), 1000, 0, 0.2, 2000, 3000, 0.39),
        # target reached: behaves as self-consumption that keeps the target
        (ChargeFromGrid(0.5, 3000), 1500, 500, 0.5, 0, 1000, 0.5),
        # PV surplus above the grid-charge power is still stored
        (ChargeFromGrid(0.9, 1000), 0, 3000, 0.2, 3000, -3000 + 3000, 0.2 + 3000 * 0.95 / 10_000),
        # discharge to the grid at 2 kW: covers the 1 kW deficit and exports 1 kW
        (DischargeToGrid(0.2, 2000), 1500, 500, 0.8, -2000, -1000, 0.8 - 2000 / 0.95 / 10_000),
        # a deficit larger than the discharge power is still covered down to the target
        (DischargeToGrid(0.2, 1000), 3500, 500, 0.8, -3000, 0, 0.8 - 3000 / 0.95 / 10_000),
        # target reached: no further discharge below it
        (DischargeToGrid(0.5, 2000), 1500, 500, 0.5, 0, 1000, 0.5),
    ],
)
def test_modes(
    mode: object,
    load: float,
    pv: float,
    soc: float,
    battery_w: float,
    grid_w: float,
    soc_after: float,
    limits: BatteryLimits,
) -> None:
    tick = LocalController(limits).tick(mode, load, pv, soc, HOUR)  # type: ignore[arg-type]
    assert tick.battery_w == pytest.approx(battery_w, abs=1e-6)
    assert tick.grid_w == pytest.approx(grid_w, abs=1e-6)
    assert tick.soc == pytest.approx(soc_after, abs=1e-9)
    # energy balance: grid = load + ev - pv + battery
    assert tick.grid_w == pytest.approx(load - pv + tick.battery_w, abs=1e-9)
    assert limits.soc_min - 1e-9 <= tick.soc <= limits.soc_max + 1e-9


def test_ev_power_is_part_of_the_home_balance(limits: BatteryLimits) -> None:
    tick = LocalController(limits).tick(SelfConsume(0.1, 0.9), 500, 3000, 0.5, HOUR, ev_w=2000)
    assert tick.battery_w == pytest.approx(500)
    assert tick.grid_w == pytest.approx(0)
    assert tick.ev_w == 2000


def test_battery_that_may_not_export_discharges_only_for_the_home(limits: BatteryLimits) -> None:
    no_export = replace(limits, may_export=False)
    tick = LocalController(no_export).tick(DischargeToGrid(0.2, 3000), 1500, 500, 0.8, HOUR)
    assert tick.battery_w == pytest.approx(-1000)
    assert tick.grid_w == pytest.approx(0)


def test_short_ticks_add_up_like_one_long_tick(limits: BatteryLimits) -> None:
    controller = LocalController(limits)
    soc = 0.5
    for _ in range(360):  # 10-s ticks over one hour
        soc = controller.tick(SelfConsume(0.1, 0.9), 1500, 500, soc, 10).soc
    assert soc == pytest.approx(controller.tick(SelfConsume(0.1, 0.9), 1500, 500, 0.5, HOUR).soc)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"load_w": math.nan}, "load_w is not a number"),
        ({"pv_w": math.inf}, "pv_w is not a number"),
        ({"soc": math.nan}, "soc is not a number"),
        ({"load_w": -5.0}, "must be >= 0"),
        ({"seconds": 0.0}, "tick length"),
    ],
)
def test_bad_measurements_are_refused_with_the_field_named(
    kwargs: dict[str, float], message: str, limits: BatteryLimits
) -> None:
    args: dict[str, float] = {"load_w": 100.0, "pv_w": 0.0, "soc": 0.5, "seconds": 60.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        LocalController(limits).tick(SelfConsume(0.1, 0.9), **args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity_wh": 0}, "capacity_wh"),
        ({"soc_min": 0.9, "soc_max": 0.1}, "soc_min <= soc_max"),
        ({"charge_efficiency": 1.5}, "charge_efficiency"),
        ({"max_charge_w": -1}, "max_charge_w"),
    ],
)
def test_impossible_limits_are_refused(kwargs: dict[str, float], message: str) -> None:
    base: dict[str, float] = {"capacity_wh": 10_000, "max_charge_w": 5_000, "max_discharge_w": 5_000}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        BatteryLimits(**base)  # type: ignore[arg-type]
