"""Schedules, devices, consumption and usage through the API; everything survives a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.app.records.models import Reading
from shems_optimizer.wiring.testing import RunningService
from tests.support.service import serving
from tests.support.sites import tou

TOKEN = "service-test-token"
SITE: dict[str, Any] = {
    "timezone": "UTC",
    "price": tou(("00:00", 0.1), ("06:00", 0.4)),
    "appliances": [
        {"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 60, "smart_start": False}
    ],
}


Served = tuple[RunningService, aiohttp.ClientSession]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(tmp_path / "data", TOKEN) as pair:
        yield pair


async def _json(resp: aiohttp.ClientResponse, status: int) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _store(svc: RunningService, readings: list[Reading], start: datetime, hours: int) -> None:
    """Store ``readings`` and bring the aggregates of the ``hours`` from ``start`` up to date."""
    assert svc.service is not None and svc.service.repo is not None
    await asyncio.to_thread(svc.service.repo.write_readings, readings)
    await asyncio.to_thread(svc.service.repo.refresh_aggregates, start, start + timedelta(hours=hours))


async def _hourly_consumption(
    svc: RunningService, http: aiohttp.ClientSession, start: datetime, hours: int, **params: str
) -> Any:
    """The consumption hour by hour over the ``hours`` from ``start`` (``params``: e.g. ``device=``)."""
    query = {
        "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(),
        "granularity": "hour",
    }
    async with http.get(f"{svc.url}/api/v1/consumption", params={**query, **params}) as resp:
        return await _json(resp, 200)


async def test_schedule_is_planned_and_survives_restart(served: Served) -> None:
    svc, http = served
    async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
        await _json(resp, 200)
    finish_by = (datetime.now(tz=UTC) + timedelta(hours=30)).replace(microsecond=0)
    body = {"appliance_id": "dw", "finish_by": finish_by.isoformat(), "note": "dirty dishes"}
    async with http.post(f"{svc.url}/api/v1/schedules", json=body) as resp:
        created = await _json(resp, 201)
    assert created["appliance_id"] == "dw" and created["planned_start"] is None
    async with http.post(f"{svc.url}/api/v1/optimize") as resp:
        plan = await _json(resp, 200)
    (run,) = plan["appliances"]
    end = datetime.fromisoformat(run["planned_end"])
    assert end <= finish_by
    assert datetime.fromisoformat(run["planned_start"]).hour < 6  # in a cheap night before the deadline
    async with http.get(f"{svc.url}/api/v1/schedules") as resp:
        (listed,) = (await _json(resp, 200))["schedules"]
    assert listed["planned_start"] == run["planned_start"]
    bad = {"appliance_id": "oven", "finish_by": finish_by.isoformat()}
    async with http.post(f"{svc.url}/api/v1/schedules", json=bad) as resp:
        assert (await _json(resp, 400))["field"] == "appliance_id"

    await svc.stop()
    await svc.start()
    async with http.get(f"{svc.url}/api/v1/schedules") as resp:
        (again,) = (await _json(resp, 200))["schedules"]
    assert again["id"] == created["id"]
    async with http.get(f"{svc.url}/api/v1/plan") as resp:
        assert (await _json(resp, 200))["id"] == plan["id"]
    async with http.delete(f"{svc.url}/api/v1/schedules/{created['id']}") as resp:
        assert resp.status == 204
    async with http.delete(f"{svc.url}/api/v1/schedules/{created['id']}") as resp:
        assert resp.status == 404


async def test_devices_consumption_and_usage(served: Served) -> None:
    svc, http = served
    for device_id, kind in (("fridge", "load"), ("washer", "appliance")):
        body = {
            "device_id": device_id,
            "name": device_id.title(),
            "type": kind,
            "mqtt": {"state_topic": f"home/{device_id}/state"},
        }
        async with http.post(f"{svc.url}/api/v1/devices", json=body) as resp:
            created = await _json(resp, 201)
        assert created["mqtt"]["command_topic"] == f"shems/devices/{device_id}/command"
    async with http.post(f"{svc.url}/api/v1/devices", json=body) as resp:
        assert (await _json(resp, 409))["field"] == "device_id"
    # One hour of readings: the fridge at a steady 100 W, the washer at 2 kW for the first half hour.
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    readings = [Reading("fridge", start + timedelta(minutes=m), power_w=100.0) for m in range(60)]
    readings += [
        Reading("washer", start + timedelta(minutes=m), power_w=2000.0 if m < 30 else 0.0) for m in range(60)
    ]
    await _store(svc, readings, start, hours=1)
    assert svc.service is not None and svc.service.devices is not None
    svc.service.devices.record_readings(readings)
    home = await _hourly_consumption(svc, http, start, hours=1)
    assert home["total_kwh"] == pytest.approx(0.1 + 1.0, rel=0.02)
    washer = await _hourly_consumption(svc, http, start, hours=1, device="washer")
    assert washer["series"][0]["energy_kwh"] == pytest.approx(1.0, rel=0.02)
    async with http.get(f"{svc.url}/api/v1/usage") as resp:
        usage = await _json(resp, 200)
    assert usage["total_power_w"] == pytest.approx(100.0)  # latest: fridge 100 W, washer 0 W
    async with http.get(f"{svc.url}/api/v1/devices/fridge/status") as resp:
        status = await _json(resp, 200)
    assert status["state"]["power_w"] == 100.0
    async with http.delete(f"{svc.url}/api/v1/devices/fridge") as resp:
        assert resp.status == 204
    async with http.get(f"{svc.url}/api/v1/devices/fridge") as resp:
        await _json(resp, 404)
    await svc.stop()
    await svc.start()
    async with http.get(f"{svc.url}/api/v1/devices") as resp:
        (washer_device,) = (await _json(resp, 200))["devices"]
    assert washer_device["device_id"] == "washer" and washer_device["status"]["power_w"] == 0.0


async def test_consumption_range_limits(served: Served) -> None:
    svc, http = served
    params = {
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-03-01T00:00:00+00:00",
        "granularity": "15min",
    }
    async with http.get(f"{svc.url}/api/v1/consumption", params=params) as resp:
        assert (await _json(resp, 400))["field"] == "end"
    async with http.get(f"{svc.url}/api/v1/consumption", params={**params, "end": params["start"]}) as resp:
        assert "after" in (await _json(resp, 400))["error"]


async def test_consumption_of_an_autumn_dst_night_in_the_site_time_zone(served: Served) -> None:
    """Paris, 25 October 2026: 01:00 to 04:00 local is four real hours with two local 02:00 hours."""
    svc, http = served
    async with http.put(f"{svc.url}/api/v1/site", json={**SITE, "timezone": "Europe/Paris"}) as resp:
        await _json(resp, 200)
    body = {"device_id": "heater", "name": "Heater", "type": "load", "mqtt": {"state_topic": "home/heater"}}
    async with http.post(f"{svc.url}/api/v1/devices", json=body) as resp:
        await _json(resp, 201)
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 CEST
    # 1, 2, 3 and 4 kW in the four real hours.
    readings = [
        Reading("heater", start + timedelta(minutes=m), power_w=1000.0 * (1 + m // 60)) for m in range(240)
    ]
    await _store(svc, readings, start, hours=4)
    home = await _hourly_consumption(svc, http, start, hours=4)
    assert [p["start"] for p in home["series"]] == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    assert [p["energy_kwh"] for p in home["series"]] == pytest.approx([1.0, 2.0, 3.0, 4.0], rel=0.02)
    assert [p["avg_power_w"] for p in home["series"]] == pytest.approx([1000, 2000, 3000, 4000], rel=0.02)
    assert home["total_kwh"] == pytest.approx(10.0, rel=0.02)


async def test_asking_again_replaces_the_appliance_schedule_and_past_ones_are_done(tmp_path: Path) -> None:
    now = [datetime(2026, 3, 2, 10, 0, tzinfo=UTC)]
    async with serving(tmp_path / "data", TOKEN, clock=lambda: now[0]) as (svc, http):
        async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
            await _json(resp, 200)
        first_by = now[0] + timedelta(hours=20)
        async with http.post(
            f"{svc.url}/api/v1/schedules", json={"appliance_id": "dw", "finish_by": first_by.isoformat()}
        ) as resp:
            first = await _json(resp, 201)
        assert first["replaced"] == []
        second_by = now[0] + timedelta(hours=8)
        async with http.post(
            f"{svc.url}/api/v1/schedules", json={"appliance_id": "dw", "finish_by": second_by.isoformat()}
        ) as resp:
            second = await _json(resp, 201)
        assert second["replaced"] == [first["id"]]
        async with http.get(f"{svc.url}/api/v1/schedules") as resp:
            (listed,) = (await _json(resp, 200))["schedules"]
        assert listed["id"] == second["id"]
        assert svc.service is not None and svc.service.repo is not None
        stored = await asyncio.to_thread(svc.service.repo.get_schedule, first["id"])
        assert stored is not None and stored.status == "cancelled"  # kept, not deleted

        now[0] = second_by + timedelta(minutes=1)  # the deadline has passed
        async with http.get(f"{svc.url}/api/v1/schedules") as resp:
            assert (await _json(resp, 200))["schedules"] == []
        done = await asyncio.to_thread(svc.service.repo.get_schedule, second["id"])
        assert done is not None and done.status == "done"
        await svc.stop()
        await svc.start()
        async with http.get(f"{svc.url}/api/v1/schedules") as resp:
            assert (await _json(resp, 200))["schedules"] == []
