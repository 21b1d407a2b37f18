"""Health that tells the truth: readiness names what is wrong (PostgreSQL stopped, the ingester's thread
dead), the watchdog brings dead threads back, and /metrics counts what ingestion stored and refused."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from shems_optimizer.app.config import StorageConfig
from shems_optimizer.wiring.testing import RunningService
from tests.support.service import register_telemetry_device, serving, subscribed_telemetry

TOKEN = "health-test-token"


async def _ready(http: aiohttp.ClientSession, svc: RunningService) -> tuple[int, dict[str, Any]]:
    async with http.get(f"{svc.url}/api/v1/health/ready") as resp:
        return resp.status, await resp.json()


async def _until(check: Callable[[], Any], within_s: float, what: str) -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within_s} s waiting for {what}")


async def _metrics(http: aiohttp.ClientSession, svc: RunningService) -> str:
    async with http.get(f"{svc.url}/api/v1/metrics") as resp:
        assert resp.status == 200 and resp.content_type == "text/plain"
        return await resp.text()


def _sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return None


async def test_readiness_names_the_store_while_postgres_is_stopped(
    tmp_path: Path, timescale_dsn: str, services: Any
) -> None:
    storage = StorageConfig("timescaledb", timescale_dsn)
    async with serving(tmp_path, TOKEN, storage=storage, watchdog_interval_s=0.2) as (svc, http):
        status, body = await _until(lambda: _ready(http, svc), 10, "ready at start")
        assert (status, body["ready"], body["problems"]) == (200, True, [])
        async with http.get(f"{svc.url}/api/v1/health/live") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "alive"
        await asyncio.to_thread(services.stop_postgres)
        try:

            async def not_ready() -> dict[str, Any] | None:
                status, body = await _ready(http, svc)
                return body if status == 503 else None

            body = await _until(not_ready, 20, "readiness to report the store")
            assert [p["component"] for p in body["problems"]] == ["store"]
            assert body["problems"][0]["detail"].startswith("store unreachable")
            async with http.get(f"{svc.url}/api/v1/health") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "degraded"
            async with http.get(f"{svc.url}/api/v1/health/live") as resp:
                assert resp.status == 200
            assert _sample(await _metrics(http, svc), "shems_component_ready", component="store") == 0.0
        finally:
            await asyncio.to_thread(services.start_postgres)

        async def ready_again() -> bool:
            return (await _ready(http, svc))[0] == 200

        await _until(ready_again, 30, "ready once PostgreSQL is back")


async def test_dead_ingester_is_reported_restarted_and_readings_flow_again(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    async with serving(
        tmp_path, TOKEN, broker=mqtt_broker, mqtt_topic_prefix="healthtest", watchdog_interval_s=0.1
    ) as (svc, http):
        meter = {
            "device_id": "meter",
            "name": "Meter",
            "type": "grid",
            "mqtt": {"state_topic": "healthtest/meter"},
        }
        telemetry = await register_telemetry_device(svc, http, meter)
        publisher = mqtt_client_factory()
        now = datetime.now(UTC).replace(microsecond=0)

        async def state_time() -> str | None:
            async with http.get(f"{svc.url}/api/v1/devices/meter/status") as resp:
                state = (await resp.json()).get("state") or {}
            return state.get("updated_at")

        def publish(payload: dict[str, Any]) -> None:
            publisher.publish("healthtest/meter", json.dumps(payload), qos=1).wait_for_publish(10)

        # A reading from 2100 is refused: it never becomes the device's live state or clock.
        publish({"time": "2100-01-01T00:00:00Z", "power_w": 7})
        first = now - timedelta(seconds=30)
        publish({"time": first.isoformat(), "power_w": 100})

        async def shows(at: datetime) -> bool:
            return await state_time() == at.isoformat()

        await _until(lambda: shows(first), 10, "the live state of the good reading")

        async def stored_once() -> bool:
            # The live state follows the message at once; the store's write is counted when it commits.
            text = await _metrics(http, svc)
            return (_sample(text, "shems_readings_stored_total", source="mqtt") or 0.0) >= 1.0

        await _until(stored_once, 10, "the good reading stored")
        text = await _metrics(http, svc)
        refused = _sample(text, "shems_readings_refused_total", device="meter", reason="time_in_future")
        assert refused == 1.0
        assert _sample(text, "shems_readings_stored_total", source="mqtt") == 1.0

        # The ingester's network thread dies: readiness says so, the watchdog starts it again.
        ingester = telemetry.ingester
        assert ingester is not None
        await asyncio.to_thread(ingester._client.loop_stop)  # the thread ends as after a crash

        async def reports_dead() -> dict[str, Any] | None:
            status, body = await _ready(http, svc)
            return body if status == 503 else None

        body = await _until(reports_dead, 5, "readiness to report the dead ingester")
        assert {"component": "telemetry", "detail": "the MQTT ingester thread is not running"} in body[
            "problems"
        ]

        async def ready_again() -> bool:
            return (await _ready(http, svc))[0] == 200

        await _until(ready_again, 15, "the watchdog to restore the ingester")
        assert telemetry.ingester is not ingester
        second = now - timedelta(seconds=10)
        publish({"time": second.isoformat(), "power_w": 200})
        await _until(lambda: shows(second), 10, "readings flowing after the restart")
        text = await _metrics(http, svc)
        assert _sample(text, "shems_watchdog_restarts_total", component="telemetry") == 1.0
        assert _sample(text, "shems_readings_stored_total", source="mqtt") == 1.0 + 1.0
        async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{svc.url}/api/v1/metrics") as resp:
            assert resp.status == 401

        # The command link's network thread dies too: named, restarted, connected again.
        assert svc.service is not None
        link = svc.service.mqtt
        assert link is not None and link._client is not None
        await asyncio.to_thread(link._client.loop_stop)
        body = await _until(reports_dead, 5, "readiness to report the dead MQTT link")
        assert {"component": "mqtt", "detail": "the MQTT link's network thread is not running"} in body[
            "problems"
        ]
        await _until(ready_again, 15, "the watchdog to restore the MQTT link")
        assert _sample(await _metrics(http, svc), "shems_watchdog_restarts_total", component="mqtt") == 1.0


async def test_a_state_from_2100_stored_earlier_does_not_freeze_the_live_state(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    """A store written before times were checked holds a reading from 2100; new readings still show."""
    from shems_optimizer.adapters.store import SqliteConfig, SqliteRepository
    from shems_optimizer.app.records.models import Device, DeviceType, Home, Reading

    tmp_path.mkdir(exist_ok=True)
    repo = SqliteRepository.open(SqliteConfig(tmp_path / "shems.sqlite3"))
    repo.upsert_home(Home("home", "Home"))
    repo.upsert_device(
        Device(
            "old",
            "home",
            DeviceType.LOAD,
            "Old meter",
            ("frozen/old",),
            attributes={"mqtt": {"state_topic": "frozen/old"}},
        )
    )
    repo.write_readings([Reading("old", datetime(2100, 1, 1, tzinfo=UTC), 7.0)])
    repo.close()
    async with serving(tmp_path, TOKEN, broker=mqtt_broker) as (svc, http):
        await subscribed_telemetry(svc)
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        payload = json.dumps({"time": at.isoformat(), "power_w": 42})
        mqtt_client_factory().publish("frozen/old", payload, qos=1).wait_for_publish(10)

        async def shows_new() -> bool:
            async with http.get(f"{svc.url}/api/v1/devices/old/status") as resp:
                state = (await resp.json()).get("state") or {}
            return state.get("power_w") == 42

        await _until(shows_new, 10, "the new reading as the live state")
