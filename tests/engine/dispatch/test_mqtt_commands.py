"""Acknowledged device commands over the real Mosquitto broker, with a simulated device."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.app.config import CommandSettings
from shems_optimizer.wiring.testing import RunningService, running_service
from tests.support.service import register_appliance

from .conftest import SimulatedDevice

TOKEN = "dispatch-test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
# Short waits keep the test quick; the production defaults are 1 s, 2 s, 4 s and a final 4 s.
FAST = CommandSettings(retry_delays_s=(0.2, 0.4, 0.8), final_wait_s=0.8, default_ttl_s=60.0)


@pytest.fixture
async def svc(tmp_path: Path, mqtt_broker: Any) -> AsyncIterator[RunningService]:
    async with running_service(
        tmp_path / "data", token=TOKEN, mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port, commands=FAST
    ) as running:
        assert running.service is not None and running.service.mqtt is not None
        await asyncio.wait_for(running.service.mqtt.connected.wait(), timeout=10)
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        yield session


async def send(
    svc: RunningService, http: aiohttp.ClientSession, device_id: str, **extra: Any
) -> dict[str, Any]:
    body = {"command": "start", "payload": {"program": "eco"}, **extra}
    async with http.post(
        f"{svc.url}/api/v1/devices/{device_id}/commands", json=body, headers={"X-Correlation-ID": "corr-1"}
    ) as resp:
        assert resp.status == 202, await resp.text()
        record: dict[str, Any] = await resp.json()
        return record


async def wait_final(
    svc: RunningService, http: aiohttp.ClientSession, device_id: str, command_id: str, within_s: float = 20
) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            async with http.get(f"{svc.url}/api/v1/devices/{device_id}/commands/{command_id}") as resp:
                record: dict[str, Any] = await resp.json()
            if record["status"] in ("acked", "failed", "expired"):
                return record
            await asyncio.sleep(0.02)


async def test_command_acked_with_correlation_id_everywhere(
    svc: RunningService, http: aiohttp.ClientSession, device_factory: Callable[..., SimulatedDevice]
) -> None:
    device = device_factory("dishwasher")
    await register_appliance(http, svc.url, "dishwasher")
    async with http.ws_connect(f"{svc.url}/api/v1/stream") as ws:
        record = await send(svc, http, "dishwasher")
        # Recorded pending, then (broker connected) published and recorded sent before the answer.
        assert record["status"] == "sent" and record["correlation_id"] == "corr-1"
        final = await wait_final(svc, http, "dishwasher", record["command_id"])
        statuses = []
        while "acked" not in statuses:
            event = json.loads((await asyncio.wait_for(ws.receive(), timeout=10)).data)
            if event["type"] == "command_status" and event["data"]["command_id"] == record["command_id"]:
                statuses.append(event["data"]["status"])
    assert statuses == ["pending", "sent", "acked"]
    assert final["status"] == "acked" and final["attempts"] == 1 and final["acked_at"] is not None
    (received,) = device.received
    assert received["command_id"] == record["command_id"]
    assert received["correlation_id"] == "corr-1"  # API request → DB row → MQTT payload
    assert received["command"] == "start" and received["payload"] == {"program": "eco"}
    assert svc.service is not None and svc.service.repo is not None
    stored = svc.service.repo.get_command(record["command_id"])
    assert stored is not None and stored.correlation_id == "corr-1" and stored.status.value == "acked"


async def test_device_that_never_acks_expires_after_retries_logged_once(
    svc: RunningService,
    http: aiohttp.ClientSession,
    device_factory: Callable[..., SimulatedDevice],
    caplog: pytest.LogCaptureFixture,
) -> None:
    device = device_factory("boiler", behaviour="never")
    await register_appliance(http, svc.url, "boiler")
    with caplog.at_level(logging.INFO, logger="shems_optimizer.app.execution.commands"):
        record = await send(svc, http, "boiler")
        final = await wait_final(svc, http, "boiler", record["command_id"])
    assert final["status"] == "expired" and final["attempts"] == 4
    assert "no acknowledgement after 4 attempts" in final["error"]
    assert [c["attempt"] for c in device.received] == [1, 2, 3, 4]
    assert set(device.command_ids()) == {record["command_id"]}
    expired_lines = [r for r in caplog.records if "expired" in r.getMessage()]
    assert len(expired_lines) == 1
    assert svc.service is not None and svc.service.repo is not None
    errors = svc.service.repo.command_errors(record["command_id"])
    assert [e.attempt for e in errors] == [1, 2, 3, 4, 4]  # four missed acks, then the expiry itself


async def test_retry_succeeds_and_device_error_fails(
    svc: RunningService, http: aiohttp.ClientSession, device_factory: Callable[..., SimulatedDevice]
) -> None:
    late = device_factory("washer", behaviour="ok_on_attempt:3")
    broken = device_factory("dryer", behaviour="error")
    await register_appliance(http, svc.url, "washer")
    await register_appliance(http, svc.url, "dryer")
    first = await send(svc, http, "washer")
    second = await send(svc, http, "dryer")
    ok = await wait_final(svc, http, "washer", first["command_id"])
    failed = await wait_final(svc, http, "dryer", second["command_id"])
    assert ok["status"] == "acked" and ok["attempts"] == 3 and len(late.received) == 3
    assert failed["status"] == "failed" and failed["error"] == "relay stuck" and len(broken.received) == 1


async def test_expiry_before_sending(
    svc: RunningService, http: aiohttp.ClientSession, device_factory: Callable[..., SimulatedDevice]
) -> None:
    device = device_factory("pump", behaviour="never")
    await register_appliance(http, svc.url, "pump")
    record = await send(svc, http, "pump", ttl_s=1)
    final = await wait_final(svc, http, "pump", record["command_id"])
    assert final["status"] == "expired"
    assert 1 <= len(device.received) <= 3  # cut short by the 1 s lifetime, not all four attempts
    assert all(c["expires_at"] == device.received[0]["expires_at"] for c in device.received)


async def test_broker_down_commands_wait_and_go_out_exactly_once(
    svc: RunningService,
    http: aiohttp.ClientSession,
    device_factory: Callable[..., SimulatedDevice],
    services: Any,
) -> None:
    await register_appliance(http, svc.url, "heater")
    assert svc.service is not None and svc.service.mqtt is not None
    services.stop_mosquitto()
    try:
        async with asyncio.timeout(15):
            while svc.service.mqtt.connected.is_set():  # noqa: ASYNC110 - polling the link's own flag
                await asyncio.sleep(0.05)
        records = [await send(svc, http, "heater") for _ in range(5)]
        await asyncio.sleep(0.5)
        for record in records:
            async with http.get(f"{svc.url}/api/v1/devices/heater/commands/{record['command_id']}") as resp:
                assert (await resp.json())["status"] == "pending"
    finally:
        services.start_mosquitto()
    device = device_factory("heater")  # the device comes back with the broker
    await asyncio.wait_for(svc.service.mqtt.connected.wait(), timeout=30)
    finals = [await wait_final(svc, http, "heater", r["command_id"], within_s=30) for r in records]
    assert [f["status"] for f in finals] == ["acked"] * 5
    assert sorted(device.command_ids()) == sorted(r["command_id"] for r in records)  # each exactly once


async def test_unknown_device_and_missing_transport(
    svc: RunningService, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with http.post(f"{svc.url}/api/v1/devices/ghost/commands", json={"command": "start"}) as resp:
        assert resp.status == 404
    async with running_service(tmp_path / "nomqtt", token=TOKEN) as plain:
        await register_appliance(http, plain.url, "lamp")
        async with http.post(f"{plain.url}/api/v1/devices/lamp/commands", json={"command": "start"}) as resp:
            assert resp.status == 400
            assert "no MQTT broker" in (await resp.json())["error"]


async def test_command_log_survives_restart_and_unfinished_commands_resume(
    svc: RunningService, http: aiohttp.ClientSession, device_factory: Callable[..., SimulatedDevice]
) -> None:
    device = device_factory("oven", behaviour="never")
    await register_appliance(http, svc.url, "oven")
    done = await send(svc, http, "oven")
    await wait_final(svc, http, "oven", done["command_id"])  # expired
    device.behaviour = "ok"
    in_flight = await send(svc, http, "oven")
    await svc.stop()  # mid-flight: the command is pending or sent
    await svc.start()
    assert svc.service is not None and svc.service.mqtt is not None
    await asyncio.wait_for(svc.service.mqtt.connected.wait(), timeout=10)
    resumed = await wait_final(svc, http, "oven", in_flight["command_id"])
    assert resumed["status"] == "acked"  # picked up again after the restart
    async with http.get(f"{svc.url}/api/v1/devices/oven/commands") as resp:
        log = (await resp.json())["commands"]
    assert [c["command_id"] for c in log] == [in_flight["command_id"], done["command_id"]]  # newest first
    assert [c["status"] for c in log] == ["acked", "expired"]
