"""Prices and measured state from Home Assistant (a stand-in for its REST API), HA service-call
commands, and the live watcher's re-plan triggers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from shems_optimizer.app.config import CommandSettings, HomeAssistantConfig
from shems_optimizer.wiring.testing import RunningService, running_service

TOKEN = "ha-inputs-token"
HA_TOKEN = "long-lived-ha-token"


@dataclass
class StandInHA:
    url: str = ""
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def hourly_prices(start: datetime, hours: int) -> list[dict[str, Any]]:
    # 0.10 EUR/kWh at night (00-06 UTC), 0.30 otherwise: easy to check step by step.
    return [
        {
            "start": (start + timedelta(hours=h)).isoformat(),
            "end": (start + timedelta(hours=h + 1)).isoformat(),
            "value": 100.0 if (start + timedelta(hours=h)).hour < 6 else 300.0,
        }
        for h in range(hours)
    ]


@pytest.fixture
async def ha() -> AsyncIterator[StandInHA]:
    state = StandInHA()

    async def get_state(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {HA_TOKEN}":
            return web.json_response({"message": "unauthorized"}, status=401)
        entity = request.match_info["entity_id"]
        if entity not in state.states:
            return web.json_response({"message": "Entity not found."}, status=404)
        return web.json_response({"entity_id": entity, **state.states[entity]})

    async def call_service(request: web.Request) -> web.Response:
        domain, service = request.match_info["domain"], request.match_info["service"]
        if service not in ("turn_on", "turn_off"):
            return web.json_response({"message": "Service not found."}, status=400)
        state.calls.append((domain, service, await request.json()))
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/api/states/{entity_id}", get_state)
    app.router.add_post("/api/services/{domain}/{service}", call_service)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


SITE: dict[str, Any] = {
    "timezone": "UTC",
    "price": {"kind": "entity", "entity_id": "sensor.nordpool", "export_per_kwh": 0.05},
    "batteries": [
        {
            "id": "bat",
            "name": "Battery",
            "capacity_kwh": 10,
            "max_charge_w": 2000,
            "max_discharge_w": 2000,
            "min_soc_pct": 10,
            "max_soc_pct": 90,
            "soc_entity": "sensor.bat_soc",
        }
    ],
    "evs": [
        {
            "id": "car",
            "name": "Car",
            "battery_kwh": 50,
            "max_charge_w": 7000,
            "soc_entity": "sensor.car_soc",
            "plugged_entity": "binary_sensor.car_plugged",
            "departure": "07:00",
            "target_soc_pct": 60,
        }
    ],
    "appliances": [
        {
            "id": "dw",
            "name": "Dishwasher",
            "power_w": 2000,
            "duration_min": 120,
            "switch_entity": "switch.dishwasher_plug",
        }
    ],
}


@pytest.fixture
async def svc(ha: StandInHA, tmp_path: Path) -> AsyncIterator[RunningService]:
    today = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    ha.states["sensor.nordpool"] = {
        "state": "0.3",
        "attributes": {
            "unit_of_measurement": "EUR/MWh",
            "raw_today": hourly_prices(today, 24),
            "raw_tomorrow": hourly_prices(today + timedelta(days=1), 24),
        },
    }
    ha.states["sensor.bat_soc"] = {"state": "73", "attributes": {"unit_of_measurement": "%"}}
    ha.states["sensor.car_soc"] = {"state": "unavailable", "attributes": {}}
    ha.states["binary_sensor.car_plugged"] = {"state": "off", "attributes": {}}
    ha.states["switch.dishwasher_plug"] = {"state": "on", "attributes": {}}  # not loaded
    async with running_service(
        tmp_path,
        token=TOKEN,
        homeassistant=HomeAssistantConfig(ha.url, HA_TOKEN),
        commands=CommandSettings(retry_delays_s=(0.2, 0.4, 0.8), final_wait_s=0.8),
    ) as running:
        yield running


async def test_prices_and_soc_come_from_home_assistant(svc: RunningService) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
            assert resp.status == 200, await resp.text()
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            assert resp.status == 200, await resp.text()
            plan = await resp.json()
        async with http.get(f"{svc.url}/api/v1/status") as resp:
            assert (await resp.json())["problems"] == []  # Home Assistant is reachable: nothing to fix
    for step in plan["steps"]:
        start = datetime.fromisoformat(step["start"])
        assert step["import_price"] == pytest.approx(0.10 if start.hour < 6 else 0.30)  # EUR/MWh → EUR/kWh
        assert step["export_price"] == pytest.approx(0.05)
    first = plan["steps"][0]["assets"]["bat"]
    energy_kwh = -first["power_w"] / 1000 * 0.25  # + discharge; 15-min step
    assert first["soc_pct"] / 100 == pytest.approx(
        0.73 + energy_kwh * (0.95 if energy_kwh > 0 else 1 / 0.95) / 10, abs=0.01
    )
    assert "EV Car: SOC not measured" in plan["message"]  # 'unavailable' is not a number
    assert plan["prices_updated_at"] is not None


async def test_watcher_triggers_on_new_prices_plug_in_and_soc_drift(
    svc: RunningService, ha: StandInHA
) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
            assert resp.status == 200
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            assert resp.status == 200
    service = svc.service
    assert service is not None and service._watcher is not None
    watcher = service._watcher
    assert await watcher.check() == []
    day_after = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    ha.states["sensor.nordpool"]["attributes"]["raw_day_after"] = hourly_prices(day_after, 24)
    ha.states["binary_sensor.car_plugged"]["state"] = "on"
    ha.states["sensor.bat_soc"]["state"] = "15"  # far below what the plan expects now
    assert sorted(await watcher.check()) == ["EV car plugged in", "battery bat SOC drift", "new prices"]
    assert await watcher.check() == []  # each event once


async def test_an_appliance_is_planned_once_loaded_behind_its_switched_off_plug(
    svc: RunningService, ha: StandInHA
) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
            assert resp.status == 200, await resp.text()
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            idle = await resp.json()
        assert idle["appliances"] == []  # its plug is on: the last run was started, none waits
        assert "Dishwasher: not planned while its start switch is on" in idle["message"]
        service = svc.service
        assert service is not None and service._watcher is not None
        assert await service._watcher.check() == []
        ha.states["switch.dishwasher_plug"]["state"] = "off"  # loaded, programme chosen, plug off
        assert await service._watcher.check() == ["appliance dw loaded"]
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            waiting = await resp.json()
        (run,) = waiting["appliances"]
        assert run["id"] == "dw" and run["planned_start"] is not None
        ha.states["switch.dishwasher_plug"]["state"] = "unavailable"  # unknown: planned as waiting
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            assert [a["id"] for a in (await resp.json())["appliances"]] == ["dw"]


async def test_commands_to_home_assistant_entities(svc: RunningService, ha: StandInHA) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        body = {
            "device_id": "boiler",
            "name": "Boiler",
            "type": "water_heater",
            "ha_entity_id": "switch.boiler",
        }
        async with http.post(f"{svc.url}/api/v1/devices", json=body) as resp:
            assert resp.status == 201
        results = {}
        for command, payload in (("start", {}), ("set_mode", {"option": "eco"})):
            async with http.post(
                f"{svc.url}/api/v1/devices/boiler/commands", json={"command": command, "payload": payload}
            ) as resp:
                record = await resp.json()
            async with asyncio.timeout(15):
                while record["status"] not in ("acked", "failed", "expired"):
                    await asyncio.sleep(0.05)
                    async with http.get(
                        f"{svc.url}/api/v1/devices/boiler/commands/{record['command_id']}"
                    ) as resp:
                        record = await resp.json()
            results[command] = record
    assert results["start"]["status"] == "acked"
    assert ha.calls == [("switch", "turn_on", {"entity_id": "switch.boiler"})]
    assert results["set_mode"]["status"] == "failed"  # HA answered 400: refused, not retried
    assert "HTTP 400" in results["set_mode"]["error"]
