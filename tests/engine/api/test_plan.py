"""Plan, optimize and status against the real optimizer: hand-checkable tariffs, failures keep the plan."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import aiohttp

from shems_optimizer.wiring.testing import RunningService
from tests.support.service import put_site
from tests.support.sites import battery, tou

from .conftest import auth

# Night (00:00-06:00) is cheap, the rest dear: a 1-hour dishwasher allowed any time in the next 48 h
# must start inside a night window, and the battery must charge at night and discharge by day.
TOU_SITE: dict[str, Any] = {
    "name": "Home",
    "timezone": "Europe/Paris",
    "price": tou(("00:00", 0.10), ("06:00", 0.40), export_per_kwh=0.0),
    "batteries": [  # kept between 10 % and 90 %, and at its floor now
        battery(capacity_kwh=5, max_charge_w=2500, max_discharge_w=2500, efficiency=0.95)
        | {"min_soc_pct": 10, "max_soc_pct": 90, "initial_soc_pct": 10}
    ],
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 60}],
}


async def test_optimize_returns_plan_that_follows_the_tariff(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{svc.url}/api/v1/plan", headers=auth()) as resp:
        assert resp.status == 404 and (await resp.json())["code"] == "no_plan"
    async with http.post(f"{svc.url}/api/v1/optimize", headers=auth()) as resp:
        assert resp.status == 409 and (await resp.json())["code"] == "no_site"
    await put_site(http, svc.url, TOU_SITE, headers=auth())
    async with http.post(f"{svc.url}/api/v1/optimize?reason=test", headers=auth()) as resp:
        assert resp.status == 200, await resp.text()
        plan = await resp.json()
    assert plan["status"] == "optimal"
    assert len(plan["steps"]) == 192 and plan["step_minutes"] == 15
    (dishwasher,) = plan["appliances"]
    start = datetime.fromisoformat(dishwasher["planned_start"]).astimezone()
    local_start = datetime.fromisoformat(dishwasher["planned_start"])
    assert 0 <= _paris_hour(local_start) < 6, f"dishwasher planned at {start} outside the cheap night"
    charge_by_day = [
        s["assets"]["bat"]["power_w"]
        for s in plan["steps"]
        if _paris_hour(datetime.fromisoformat(s["start"])) >= 6
    ]
    assert max(charge_by_day) > 0  # discharges during dear hours
    assert all(p >= -1e-6 for p in charge_by_day)  # never charges at 0.40 (export pays 0)
    assert plan["savings"] > 0
    # The site change queues the service's own re-plan, which may still run (and then replace this
    # plan) when the status is read: once the service is quiet, the status names the plan in force.
    in_force = await svc.quiet()
    assert in_force is not None
    async with http.get(f"{svc.url}/api/v1/plan", headers=auth()) as resp:
        assert (await resp.json())["id"] == in_force["id"]
    async with http.get(f"{svc.url}/api/v1/status", headers=auth()) as resp:
        status = await resp.json()
    assert status["optimizer"] == "idle" and status["last_error"] is None
    assert status["plan_id"] == in_force["id"]


def _paris_hour(moment: datetime) -> int:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/Paris")).hour


async def test_failed_run_keeps_last_good_plan_and_says_why(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    await put_site(http, svc.url, TOU_SITE, headers=auth())
    async with http.post(f"{svc.url}/api/v1/optimize", headers=auth()) as resp:
        good = await resp.json()
    broken = json.loads(json.dumps(TOU_SITE))
    broken["price"] = {"kind": "entity", "entity_id": "sensor.nordpool"}  # not readable here
    await put_site(http, svc.url, broken, headers=auth())
    async with http.post(f"{svc.url}/api/v1/optimize", headers=auth()) as resp:
        assert resp.status == 422
        error = await resp.json()
    assert error["code"] == "optimization_failed" and "sensor.nordpool" in error["error"]
    async with http.get(f"{svc.url}/api/v1/plan", headers=auth()) as resp:
        assert (await resp.json())["id"] == good["id"]
    async with http.get(f"{svc.url}/api/v1/status", headers=auth()) as resp:
        status = await resp.json()
    assert status["optimizer"] == "failed" and "sensor.nordpool" in status["last_error"]


async def test_plan_survives_restart_and_is_pushed_on_stream(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{svc.url}/api/v1/stream", headers=auth()) as ws:
        await put_site(http, svc.url, TOU_SITE, headers=auth())  # a new site triggers a re-plan by itself
        plan_event = None
        while plan_event is None:
            msg = await asyncio.wait_for(ws.receive(), timeout=60)
            event = json.loads(msg.data)
            if event["type"] == "plan_updated":
                plan_event = event
    plan_id = plan_event["data"]["id"]
    await svc.stop()
    await svc.start()
    async with http.get(f"{svc.url}/api/v1/plan", headers=auth()) as resp:
        assert (await resp.json())["id"] == plan_id


async def test_site_refused_by_the_optimizer_model_names_document_field(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    site = json.loads(json.dumps(TOU_SITE))
    site["evs"] = [
        {
            "id": "car",
            "name": "Car",
            "battery_kwh": 60,
            "max_charge_w": 11000,
            "min_charge_w": 0,
            "target_soc_pct": 80,
            "departure": "07:30",
        }
    ]
    site["thermal_loads"] = [
        {
            "id": "wh",
            "name": "Boiler",
            "kind": "water_heater",
            "power_w": 3000,
            "min_temp_c": 45,
            "max_temp_c": 60,
            "cop": 20,
        }
    ]
    async with http.put(f"{svc.url}/api/v1/site", json=site, headers=auth()) as resp:
        assert resp.status == 400
        error = await resp.json()
    assert error["field"] == "thermal_loads[0].cop"
    assert "between 0.5 and 10" in error["error"]
