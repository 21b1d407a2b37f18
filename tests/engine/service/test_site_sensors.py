"""Home Assistant sensors named in the site reach the store, and PV reaches the plan.

Home Assistant is the outside world here: a small aiohttp stand-in speaks its WebSocket API (auth,
get_states, subscribe_trigger, statistics) and serves ``/api/states/<entity>`` for the REST reads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shems_optimizer.adapters.ingest.site_meters import site_meters
from shems_optimizer.app.config import HomeAssistantConfig, StorageConfig
from shems_optimizer.app.records.models import Reading
from shems_optimizer.wiring.testing import RunningService, running_service
from tests.support.service import plan_for
from tests.support.sites import battery

from ..ingest.fake_homeassistant import FakeHomeAssistant

TOKEN = "site-sensors-token"
HA_TOKEN = "good-token"
BERLIN = {"latitude": 52.5, "longitude": 13.4}


class StandInHA(FakeHomeAssistant):
    """The WebSocket stand-in plus HA's REST state reads, on one port like the real thing."""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/websocket", self._websocket)
        app.router.add_get("/api/states/{entity_id}", self._rest_state)
        self._server = TestServer(app)
        await self._server.start_server()
        return f"http://127.0.0.1:{self._server.port}"

    async def _rest_state(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"message": "unauthorized"}, status=401)
        state = self.states.get(request.match_info["entity_id"])
        if state is None:
            return web.json_response({"message": "Entity not found."}, status=404)
        return web.json_response(state)

    def set_attributes(self, entity_id: str, value: str, attributes: dict[str, Any]) -> None:
        self.states[entity_id] = {**self.state(entity_id, value, None), "attributes": attributes}


@pytest.fixture
async def ha() -> AsyncIterator[StandInHA]:
    stand_in = StandInHA(token=HA_TOKEN)
    stand_in.url = await stand_in.start()  # type: ignore[attr-defined]
    yield stand_in
    await stand_in.close()


def sampling_service(
    ha: StandInHA, tmp_path: Path, ha_token: str = HA_TOKEN, **options: Any
) -> AbstractAsyncContextManager[RunningService]:
    """The service (``async with``) sampling the stand-in's sensors every 0.2 s with ``ha_token``."""
    return running_service(
        tmp_path,
        token=TOKEN,
        homeassistant=HomeAssistantConfig(ha.url, ha_token),  # type: ignore[attr-defined]
        ha_sample_interval_s=0.2,
        **options,
    )


@pytest.fixture
async def svc(ha: StandInHA, tmp_path: Path) -> AsyncIterator[RunningService]:
    async with sampling_service(ha, tmp_path) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        yield session


async def wait_for(predicate: Callable[[], Any], limit_s: float = 15.0) -> Any:
    """Poll ``predicate`` until it answers something truthy (``limit_s`` at most)."""
    async with asyncio.timeout(limit_s):
        while True:
            result = await predicate()
            if result:
                return result
            await asyncio.sleep(0.1)


def latest(svc: RunningService, device_id: str) -> Callable[[], Any]:
    async def read() -> Reading | None:
        assert svc.service is not None and svc.service.repo is not None
        found = await asyncio.to_thread(svc.service.repo.latest_readings, [device_id])
        return found.get(device_id)

    return read


SITE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "location": BERLIN,
    "price": {"kind": "fixed", "import_per_kwh": 0.3},
    "grid": {"power_entity": "sensor.grid_power", "import_energy_entity": "sensor.grid_import"},
    "solar": [{"power_entity": "sensor.pv_power", "peak_w": 5000}],
    "batteries": [battery(power_entity="sensor.bat_power")],
}


async def test_site_put_binds_sensors_with_units_and_gaps(
    svc: RunningService, ha: StandInHA, http: aiohttp.ClientSession
) -> None:
    await ha.set_state("sensor.grid_power", "1.5", "kW")  # a kW sensor: stored as 1,500 W
    await ha.set_state("sensor.grid_import", "12345.6", "kWh")
    await ha.set_state("sensor.pv_power", "800", "W")
    await ha.set_state("sensor.bat_power", "unavailable", None)
    async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
        assert resp.status == 200, await resp.text()
    grid = await wait_for(latest(svc, "site-grid"))
    assert (grid.power_w, grid.energy_kwh) == (1500.0, 12345.6)
    assert (await wait_for(latest(svc, "site-pv-1"))).power_w == 800.0
    assert await latest(svc, "site-battery-bat")() is None  # unavailable: a gap, nothing made up

    await ha.set_state("sensor.bat_power", "-0.5", "kW")  # discharging 500 W
    assert (await wait_for(latest(svc, "site-battery-bat"))).power_w == -500.0
    await ha.set_state("sensor.grid_power", "2000", "W")  # the unit changes: still right
    assert await wait_for(lambda: _power_is(svc, "site-grid", 2000.0))

    async with http.get(f"{svc.url}/api/v1/devices") as resp:
        devices = {d["device_id"]: d for d in (await resp.json())["devices"]}
    assert {k: devices[k]["type"] for k in ("site-grid", "site-pv-1", "site-battery-bat")} == {
        "site-grid": "grid",
        "site-pv-1": "pv",
        "site-battery-bat": "battery",
    }
    assert devices["site-grid"]["status"]["power_w"] in (1500.0, 2000.0)
    assert {d["source"] for d in devices.values()} == {"site"}
    async with http.get(f"{svc.url}/api/v1/health") as resp:
        assert (await resp.json())["components"]["homeassistant_sensors"]["ok"] is True

    # The battery leaves the site: its device goes (its readings stay), the rest keeps running.
    async with http.put(f"{svc.url}/api/v1/site", json={**SITE, "batteries": []}) as resp:
        assert resp.status == 200

    async def battery_gone() -> bool:
        async with http.get(f"{svc.url}/api/v1/devices/site-battery-bat") as resp:
            return resp.status == 404

    assert await wait_for(battery_gone)
    subscribed = await wait_for(lambda: _last_subscription(ha))
    assert subscribed == ["sensor.grid_import", "sensor.grid_power", "sensor.pv_power"]
    before = await latest(svc, "site-grid")()
    await ha.set_state("sensor.grid_power", "300", "W")
    assert await wait_for(lambda: _power_is(svc, "site-grid", 300.0))
    assert before is not None


async def _power_is(svc: RunningService, device_id: str, watts: float) -> bool:
    reading = await latest(svc, device_id)()
    return reading is not None and reading.power_w == watts


async def _last_subscription(ha: StandInHA) -> list[str] | None:
    subs = [m for m in ha.received if m["type"] == "subscribe_trigger"]
    if len(subs) < 2:
        return None
    return sorted(subs[-1]["trigger"]["entity_id"])


async def test_a_power_sensor_in_an_energy_unit_is_refused_not_scaled(
    svc: RunningService, ha: StandInHA, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    await ha.set_state("sensor.grid_power", "1200", "kWh")  # an energy sensor in the power field
    await ha.set_state("sensor.pv_power", "900", "W")
    site = {**SITE, "grid": {"power_entity": "sensor.grid_power"}, "batteries": []}
    with caplog.at_level(logging.ERROR, logger="shems_optimizer.adapters.ingest"):
        async with http.put(f"{svc.url}/api/v1/site", json=site) as resp:
            assert resp.status == 200
        await wait_for(latest(svc, "site-pv-1"))
        await asyncio.sleep(0.5)  # a few sampling rounds
    assert await latest(svc, "site-grid")() is None
    assert any("sensor.grid_power" in r.getMessage() and "kWh" in r.getMessage() for r in caplog.records)


def local_hour(step: dict[str, Any]) -> float:
    start = datetime.fromisoformat(step["start"]).astimezone(UTC)
    return start.hour + start.minute / 60


async def test_plan_has_pv_by_day_and_none_at_night(
    svc: RunningService, ha: StandInHA, http: aiohttp.ClientSession
) -> None:
    site = {**SITE, "grid": {}, "batteries": []}
    plan = await plan_for(http, svc.url, site)
    assert "clear-sky curve for 5000 W peak × 0.80 derating" in plan["message"]
    assert "no PV forecast" not in plan["message"]
    noon = [s["pv_w"] for s in plan["steps"] if 10 <= local_hour(s) < 12]  # UTC; Berlin's sun is high
    night = [s["pv_w"] for s in plan["steps"] if 0 <= local_hour(s) < 2]
    assert noon and night
    assert min(noon) > 500 and max(noon) <= 5000 * 0.8
    assert max(night) == 0

    # A Solcast-style provider entity is read too, and an unknown shape is a note, not a failure.
    start = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    estimates = [
        {"period_start": (start + timedelta(minutes=30 * i)).isoformat(), "pv_estimate": 1.2}
        for i in range(96)
    ]
    ha.set_attributes("sensor.solcast", "10.5", {"detailedForecast": estimates, "unit_of_measurement": "kWh"})
    ha.set_attributes("sensor.odd", "3", {"estimate_today": 3})
    for entity, expected in (
        ("sensor.solcast", "PV forecast: the solar forecast service as it is"),
        ("sensor.odd", "sensor.odd: no PV forecast found"),
    ):
        with_provider = {
            **site,
            "solar": [{"power_entity": "sensor.pv_power", "forecast_entity": entity, "peak_w": 5000}],
        }
        plan = await plan_for(http, svc.url, with_provider)
        assert expected in plan["message"]
    day = [s["pv_w"] for s in plan["steps"] if 10 <= local_hour(s) < 12]
    assert day and min(day) > 500  # the odd provider is skipped: the clear-sky curve still plans


async def test_without_location_the_plan_says_what_to_set(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    site = {k: v for k, v in SITE.items() if k not in ("location", "batteries")}
    async with running_service(tmp_path, token=TOKEN) as svc:
        async with http.put(f"{svc.url}/api/v1/site", json=site) as resp:
            assert resp.status == 200
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            plan = await resp.json()
    assert "give the site a latitude and longitude" in plan["message"]
    assert all(s["pv_w"] == 0 for s in plan["steps"])


def leftovers() -> list[str]:
    """Tasks and threads of the Home Assistant ingestion still alive (none once the service stopped)."""
    tasks = [
        getattr(task.get_coro(), "__qualname__", "")
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task()
    ]
    threads = [t.name for t in threading.enumerate() if t.name.startswith("shems-")]
    return [n for n in tasks if "HaIngest" in n or "HomeAssistant" in n] + threads


async def test_home_assistant_outage_and_refused_token_do_not_stop_the_service(
    tmp_path: Path, ha: StandInHA, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with sampling_service(ha, tmp_path, ha_token="a-revoked-token") as svc:
            async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
                assert resp.status == 200

            async def refused() -> bool:
                async with http.get(f"{svc.url}/api/v1/health") as resp:
                    component = (await resp.json())["components"]["homeassistant_sensors"]
                return component["ok"] is False and "rejected the access token" in component["detail"]

            assert await wait_for(refused)
            async with http.post(f"{svc.url}/api/v1/optimize") as resp:
                assert resp.status == 200
            assert "shems-telemetry-writer" in leftovers()  # its pipeline was running...
    assert leftovers() == []  # ... and nothing of it outlives the service
    assert sum("rejected the access token" in str(r.__dict__) for r in caplog.records) == 1

    # Home Assistant away altogether: one warning, planning goes on, stopping is clean.
    await ha.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="shems_optimizer.adapters.ingest"):
        async with sampling_service(ha, tmp_path) as svc:
            async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
                assert resp.status == 200
            await asyncio.sleep(3.5)  # retries after 1 s and 2 s
            async with http.post(f"{svc.url}/api/v1/optimize") as resp:
                assert resp.status == 200
            assert any("HomeAssistantIngester" in name for name in leftovers())
    assert leftovers() == []
    lost = [r for r in caplog.records if "connection lost" in r.getMessage()]
    assert len(lost) == 1


async def test_load_history_from_the_site_meters_reaches_the_plan(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Ten days of grid counters and PV power as the site meters store them: the plan's load is the
    energy balance (a 1.5 kW evening, 300 W otherwise) and its PV follows the measured days."""
    site = {
        **{k: v for k, v in SITE.items() if k != "batteries"},
        "timezone": "UTC",
        "grid": {"import_energy_entity": "sensor.grid_in", "export_energy_entity": "sensor.grid_out"},
        "solar": [{"power_entity": "sensor.pv_power"}],
    }
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    start = (now - timedelta(days=10)).replace(minute=0)
    async with running_service(tmp_path, token=TOKEN) as svc:
        assert svc.service is not None and svc.service.repo is not None and svc.service.devices is not None
        async with http.put(f"{svc.url}/api/v1/site", json=site) as resp:
            assert resp.status == 200
        # Without Home Assistant access the meters are registered here; the ingester does it otherwise.
        await svc.service.devices.sync_site_devices([m.device("home") for m in site_meters(site)])
        readings, imported, exported = [], 0.0, 0.0
        moment = start
        while moment < now - timedelta(minutes=5):
            hour = moment.hour + moment.minute / 60
            home_w = 1500.0 if 18 <= hour < 22 else 300.0
            pv_w = 2000.0 if 9 <= hour < 15 else 0.0
            readings.append(Reading("site-grid", moment, energy_kwh=round(imported, 6)))
            readings.append(Reading("site-grid-export", moment, energy_kwh=round(exported, 6)))
            readings.append(Reading("site-pv-1", moment, power_w=pv_w))
            net_kwh = (home_w - pv_w) / 12000  # 5-minute steps
            imported += max(net_kwh, 0.0)
            exported += max(-net_kwh, 0.0)
            moment += timedelta(minutes=5)
        await asyncio.to_thread(svc.service.repo.write_readings, readings)
        await asyncio.to_thread(svc.service.repo.refresh_aggregates, start, now)
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            assert resp.status == 200, await resp.text()
            plan = await resp.json()
    assert "load forecast: learned from the measured consumption" in plan["message"]
    assert "PV forecast: a clear-sky model fitted to the measured production" in plan["message"]
    evening = [s["load_w"] for s in plan["steps"] if 19 <= local_hour(s) < 21]
    midday = [s["load_w"] for s in plan["steps"] if 11 <= local_hour(s) < 13]
    assert sum(evening) / len(evening) > 1200  # the balance, not the grid import (0 at midday)
    assert 200 < sum(midday) / len(midday) < 450
    pv_noon = [s["pv_w"] for s in plan["steps"] if 11 <= local_hour(s) < 13]
    pv_night = [s["pv_w"] for s in plan["steps"] if 0 <= local_hour(s) < 3]
    assert min(pv_noon) > 1000 and max(pv_night) == 0


async def test_database_outage_loses_no_sensor_reading(
    tmp_path: Path, ha: StandInHA, http: aiohttp.ClientSession, timescale_dsn: str, services: Any
) -> None:
    """Readings taken while TimescaleDB is down are spooled to disk and stored once it is back."""
    await ha.set_state("sensor.pv_power", "700", "W")
    site = {**SITE, "grid": {}, "batteries": []}
    async with sampling_service(ha, tmp_path, storage=StorageConfig("timescaledb", timescale_dsn)) as svc:
        async with http.put(f"{svc.url}/api/v1/site", json=site) as resp:
            assert resp.status == 200
        assert (await wait_for(latest(svc, "site-pv-1"))).power_w == 700.0
        assert svc.service is not None and svc.service.ha_ingest is not None
        pipeline = svc.service.ha_ingest.pipeline
        assert pipeline is not None
        await asyncio.to_thread(services.stop_postgres)
        try:
            down_at = datetime.now(tz=UTC)
            await ha.set_state("sensor.pv_power", "1234", "W")
            ingester = svc.service.ha_ingest.ingester
            assert ingester is not None

            async def holds_new_value() -> bool:
                return ingester.held_value("sensor.pv_power") == 1234.0

            await wait_for(holds_new_value, limit_s=30)
            before = pipeline.counts().readings_spooled

            async def spooled_while_down() -> bool:
                return pipeline.counts().readings_spooled >= before + 4

            # Down until four samples of the new value were taken (0.2 s apart), however slow the
            # machine: the outage is measured in samples, not seconds.
            await wait_for(spooled_while_down, limit_s=60)
            async with http.post(f"{svc.url}/api/v1/optimize") as resp:
                assert resp.status == 200  # planning goes on without history
        finally:
            up_at = datetime.now(tz=UTC)
            await asyncio.to_thread(services.start_postgres)
        repo = svc.service.repo
        assert repo is not None

        async def spool_replayed() -> bool:
            return pipeline.counts().segments_replayed >= 1 and pipeline.spooled_segments == 0

        # Every sample spooled during the outage is replayed from the disk spool (once the connection
        # pool, retrying with back-off, reaches the database again), the new value among them.
        await wait_for(spool_replayed, limit_s=90)
        stored = await asyncio.to_thread(repo.readings, "site-pv-1", down_at, up_at)
        assert len([r for r in stored if r.power_w == 1234.0]) >= 4


@pytest.mark.parametrize(
    ("url", "websocket"),
    [
        ("http://supervisor/core", "ws://supervisor/core/websocket"),  # the add-on, via the Supervisor
        ("http://homeassistant.local:8123/", "ws://homeassistant.local:8123/api/websocket"),
        ("https://ha.example.org", "wss://ha.example.org/api/websocket"),
    ],
)
def test_websocket_url_follows_the_rest_url(url: str, websocket: str) -> None:
    assert HomeAssistantConfig(url, "t").websocket_url == websocket
