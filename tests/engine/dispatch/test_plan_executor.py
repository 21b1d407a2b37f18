"""The plan executor follows the plan with the shared control loop, sends modes and setpoints to the
battery device over MQTT (a simulated device acks), and journals what it did."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shems_optimizer.app.execution.execution_plan import BatterySchedule, ExecutionPlan
from shems_optimizer.app.execution.plan_executor import ExecutorSettings, PlanExecutor, limits_for
from shems_optimizer.core.control import LocalController, commands_from_plan
from shems_optimizer.core.control.modes import SelfConsume
from tests.support.service import plan_for, register_device, serving
from tests.support.sites import battery, tou

from .conftest import SimulatedDevice

TOKEN = "executor-token"
SITE: dict[str, Any] = {
    "timezone": "UTC",
    "price": {"kind": "fixed", "import_per_kwh": 0.3, "export_per_kwh": 0.0},
    "batteries": [battery(min_soc_pct=10, max_soc_pct=90, efficiency=0.95, initial_soc_pct=60)],
}


class FixedMeasurements:
    def __init__(self, load_w: float, pv_w: float, soc: float | dict[str, float]) -> None:
        self.values = (load_w, pv_w)
        self.soc = soc

    def home_w(self) -> tuple[float, float] | None:
        return self.values

    def battery_soc(self, battery_id: str) -> float | None:
        return self.soc[battery_id] if isinstance(self.soc, dict) else self.soc


async def test_executor_applies_modes_and_closes_the_loop(
    tmp_path: Path, mqtt_broker: Any, device_factory: Callable[..., SimulatedDevice]
) -> None:
    device = device_factory("bat")
    async with serving(tmp_path, TOKEN, broker=mqtt_broker) as (svc, http):
        assert svc.service is not None and svc.service.dispatcher is not None and svc.service.mqtt is not None
        await asyncio.wait_for(svc.service.mqtt.connected.wait(), timeout=10)
        await register_device(http, svc.url, {"device_id": "bat", "name": "Battery", "type": "battery"})
        plan = await plan_for(http, svc.url, SITE)
        execution = svc.service.plans.current_execution()  # type: ignore[union-attr]
        assert execution is not None and execution.plan_id == plan["id"]
        measured = FixedMeasurements(load_w=1500.0, pv_w=0.0, soc=0.6)
        now = datetime.fromisoformat(plan["steps"][0]["start"]) + timedelta(minutes=1)
        assert svc.service.executor is not None
        await svc.service.executor.stop()  # the service's own executor must not talk to the device here
        executor = PlanExecutor(
            svc.service.site.get,
            lambda: execution,
            measured,
            svc.service.dispatcher,
            lambda device_id: device_id == "bat",
            ExecutorSettings(tick_s=10.0),
            clock=lambda: now,
        )
        (first,) = await executor.tick()
        (second,) = await executor.tick()
        # The same arithmetic as the backtest: the shared controller on the step's mode.
        limits = limits_for(SITE["batteries"][0])
        mode = commands_from_plan(execution.steps_for("bat"), limits)[0].battery
        expected = LocalController(limits).tick(mode, 1500.0, 0.0, 0.6, 10.0)
        assert first["new_step"] and first["mode"] == type(mode).__name__
        assert first["battery_w"] == round(expected.battery_w, 1)
        assert "new_step" not in second and "set_power_command" not in second  # inside the dead band
        async with asyncio.timeout(10):
            while len(device.received) < 2:  # noqa: ASYNC110 - the device records in paho's thread
                await asyncio.sleep(0.05)
        kinds = [c["command"] for c in device.received]
        assert kinds == ["set_mode", "set_power"]
        assert device.received[0]["payload"]["mode"] == type(mode).__name__
        assert device.received[1]["payload"]["power_w"] == round(expected.battery_w, 1)
        # A new step: the mode is sent again.
        now = datetime.fromisoformat(plan["steps"][1]["start"]) + timedelta(seconds=5)
        (third,) = await executor.tick()
        assert third["new_step"] and third["step_start"] == plan["steps"][1]["start"]
        assert len(executor.journal) == 3
        assert datetime.now(tz=UTC) > now - timedelta(days=1)


def _two_steps(**overrides: Any) -> ExecutionPlan:
    start = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    fields: dict[str, Any] = {
        "plan_id": "p-hand",
        "boundaries": (start, start + timedelta(minutes=15), start + timedelta(minutes=30)),
        "load_w": (500.0, 500.0),
        "pv_w": (0.0, 0.0),
        "ev_w": (3000.0, 3000.0),
        "grid_import_w": (4500.0, 4500.0),
        "grid_export_w": (0.0, 0.0),
        "batteries": (
            BatterySchedule("house", (0.0, 0.0), (1000.0, 1000.0), 0.60, (0.575, 0.55)),
            BatterySchedule("garage", (2000.0, 2000.0), (0.0, 0.0), 0.30, (0.35, 0.40)),
        ),
    }
    return ExecutionPlan(**{**fields, **overrides})


def test_each_battery_sees_the_ev_alone_and_the_other_battery_as_load() -> None:
    """Battery 2 charging 2,000 W and an EV charging 3,000 W: battery 1's EV power is 3,000 W (it
    was 1,000 W when every asset with a SOC was summed, with mixed signs), battery 2's charging is
    load for it, and each battery's first step starts at its SOC before the plan (it started at the
    step's end)."""
    plan = _two_steps()
    house, garage = plan.steps_for("house"), plan.steps_for("garage")
    assert [s.ev_w for s in house] == [3000.0, 3000.0] == [s.ev_w for s in garage]
    assert [s.load_w for s in house] == [2500.0, 2500.0]  # base 500 + garage charging 2,000
    assert [s.pv_w for s in garage] == [1000.0, 1000.0]  # the house battery's discharge supplies it
    assert [(s.soc_start, s.soc_end) for s in house] == [(0.60, 0.575), (0.575, 0.55)]
    assert [(s.soc_start, s.soc_end) for s in garage] == [(0.30, 0.35), (0.35, 0.40)]
    assert (house[0].discharge_w, house[0].charge_w) == (1000.0, 0.0)
    assert (garage[0].discharge_w, garage[0].charge_w) == (0.0, 2000.0)
    # The house battery covers 1,000 W of a 5,500 W evening and keeps the rest for later (floor).
    limits = limits_for({"capacity_kwh": 10, "max_charge_w": 5000, "max_discharge_w": 5000})
    (first, _second) = commands_from_plan(house, limits)
    assert isinstance(first.battery, SelfConsume) and first.battery.soc_floor == 0.575
    assert plan.steps_for("unknown") == []


def test_a_schedule_with_a_missing_step_is_refused() -> None:
    try:
        _two_steps(ev_w=(3000.0,))
    except ValueError as err:
        assert "2 steps" in str(err)
    else:
        raise AssertionError("a short series was accepted")


TWO_BATTERIES_AND_EV: dict[str, Any] = {
    "timezone": "UTC",
    "price": tou(("00:00", 0.10), ("06:00", 0.40)),
    "batteries": [
        {**SITE["batteries"][0], "id": "house", "name": "House battery", "initial_soc_pct": 62},
        {**SITE["batteries"][0], "id": "garage", "name": "Garage battery", "initial_soc_pct": 23},
    ],
    "evs": [
        {
            "id": "car",
            "name": "Car",
            "battery_kwh": 40,
            "max_charge_w": 7000,
            "soc_pct": 20,
            "departure": "07:00",
            "target_soc_pct": 80,
        }
    ],
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 60}],
}


async def test_two_batteries_and_an_ev_from_the_real_planner_survive_a_restart(tmp_path: Path) -> None:
    async with serving(tmp_path, TOKEN) as (svc, http):
        plan = await plan_for(http, svc.url, TWO_BATTERIES_AND_EV)
        assert svc.service is not None and svc.service.plans is not None
        execution = svc.service.plans.current_execution()
        assert execution is not None and execution.plan_id == plan["id"]
        steps = plan["steps"]
        house, garage = execution.steps_for("house"), execution.steps_for("garage")
        assert house[0].soc_start == 0.62 and garage[0].soc_start == 0.23
        for i, step in enumerate(steps):
            assets = step["assets"]
            assert house[i].ev_w == pytest.approx(assets["car"]["power_w"], abs=0.1)
            flexible = step["load_w"] + assets["dw"]["power_w"]
            garage_charge = max(-assets["garage"]["power_w"], 0.0)
            assert house[i].load_w == pytest.approx(flexible + garage_charge, abs=0.3)
            assert house[i].discharge_w - house[i].charge_w == pytest.approx(
                assets["house"]["power_w"], abs=0.1
            )
            if i:
                assert house[i].soc_start == house[i - 1].soc_end
        assert sum(s.ev_w for s in house) > 0, "the car was meant to charge"
        assert any(s.charge_w > 0 for s in garage), "the night tariff was meant to fill a battery"

        await svc.stop()
        await svc.start()  # the plan is resumed from the archive, without a new solve
        resumed = svc.service.plans.current_execution()
        assert resumed is not None and resumed.plan_id == plan["id"]
        for before, after in zip(execution.steps_for("garage"), resumed.steps_for("garage"), strict=True):
            assert after.ev_w == pytest.approx(before.ev_w, abs=1e-3)
            assert after.soc_start == pytest.approx(before.soc_start, abs=1e-8)
            assert after.load_w == pytest.approx(before.load_w, abs=1e-2)
        async with http.get(f"{svc.url}/api/v1/plan") as resp:
            assert "_execution" not in await resp.json()  # the archive's schedule stays internal

        assert svc.service.executor is not None and svc.service.dispatcher is not None
        await svc.service.executor.stop()
        now = execution.boundaries[0] + timedelta(minutes=1)
        executor = PlanExecutor(
            svc.service.site.get,
            svc.service.plans.current_execution,
            FixedMeasurements(load_w=600.0, pv_w=0.0, soc={"house": 0.62, "garage": 0.23}),
            svc.service.dispatcher,
            lambda _device_id: False,
            clock=lambda: now,
        )
        entries = {e["asset_id"]: e for e in await executor.tick()}
        assert set(entries) == {"house", "garage"}
        for battery in TWO_BATTERIES_AND_EV["batteries"]:
            expected = commands_from_plan(resumed.steps_for(battery["id"]), limits_for(battery))[0]
            assert entries[battery["id"]]["mode"] == type(expected.battery).__name__
            assert entries[battery["id"]]["plan_id"] == plan["id"]
