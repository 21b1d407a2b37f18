"""The plan executor follows the plan with the shared control loop, sends modes and setpoints to the
battery device over MQTT (a simulated device acks), and journals what it did."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from shems_optimizer.control import LocalController
from shems_optimizer.dispatch.plan_executor import ExecutorSettings, PlanExecutor, limits_for, plan_steps_for
from shems_optimizer.service.testing import running_service

from .conftest import SimulatedDevice

TOKEN = "executor-token"
SITE: dict[str, Any] = {
    "timezone": "UTC",
    "price": {"kind": "fixed", "import_per_kwh": 0.3, "export_per_kwh": 0.0},
    "batteries": [
        {
            "id": "bat",
            "name": "Battery",
            "capacity_kwh": 10,
            "max_charge_w": 3000,
            "max_discharge_w": 3000,
            "min_soc_pct": 10,
            "max_soc_pct": 90,
            "efficiency": 0.95,
            "initial_soc_pct": 60,
        }
    ],
}


class FixedMeasurements:
    def __init__(self, load_w: float, pv_w: float, soc: float) -> None:
        self.values = (load_w, pv_w)
        self.soc = soc

    def home_w(self) -> tuple[float, float] | None:
        return self.values

    def battery_soc(self, battery_id: str) -> float | None:
        return self.soc


async def test_executor_applies_modes_and_closes_the_loop(
    tmp_path: Path, mqtt_broker: Any, device_factory: Callable[..., SimulatedDevice]
) -> None:
    device = device_factory("bat")
    async with (
        running_service(tmp_path, token=TOKEN, mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port) as svc,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        assert svc.service is not None and svc.service.dispatcher is not None and svc.service.mqtt is not None
        await asyncio.wait_for(svc.service.mqtt.connected.wait(), timeout=10)
        async with http.post(
            f"{svc.url}/api/v1/devices", json={"device_id": "bat", "name": "Battery", "type": "battery"}
        ) as resp:
            assert resp.status == 201
        async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
            assert resp.status == 200
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            plan = await resp.json()
        measured = FixedMeasurements(load_w=1500.0, pv_w=0.0, soc=0.6)
        now = datetime.fromisoformat(plan["steps"][0]["start"]) + timedelta(minutes=1)
        assert svc.service.executor is not None
        await svc.service.executor.stop()  # the service's own executor must not talk to the device here
        executor = PlanExecutor(
            svc.service.site.get,
            lambda: plan,
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
        from shems_optimizer.control import commands_from_plan

        mode = commands_from_plan(plan_steps_for(plan, "bat"), limits)[0].battery
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
