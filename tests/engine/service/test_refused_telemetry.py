"""A device's rated power, given at registration, bounds the telemetry SHEMS believes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from shems_optimizer.wiring.testing import running_service

TOKEN = "refused-telemetry-token"


async def test_power_beyond_the_registered_rating_is_refused(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    async with (
        running_service(tmp_path, token=TOKEN, mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port) as svc,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        body = {
            "device_id": "kettle",
            "name": "Kettle",
            "type": "appliance",
            "mqtt": {"state_topic": "rated/kettle"},
            "max_power_w": 3000,
        }
        async with http.post(f"{svc.url}/api/v1/devices", json=body) as resp:
            assert resp.status == 201 and (await resp.json())["max_power_w"] == 3000
        async with http.post(
            f"{svc.url}/api/v1/devices", json={**body, "device_id": "k2", "max_power_w": 0}
        ) as resp:
            assert resp.status == 400 and "max_power_w" in (await resp.json())["error"]
        assert svc.service is not None and svc.service.telemetry is not None
        telemetry = svc.service.telemetry
        deadline = time.monotonic() + 15
        while telemetry.health() != (True, "subscribed"):
            assert time.monotonic() < deadline, "telemetry never subscribed"
            await asyncio.sleep(0.05)
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
        publisher = mqtt_client_factory()
        for second, power in ((0, 5000.0), (1, 2000.0)):
            payload = json.dumps({"time": (at + timedelta(seconds=second)).isoformat(), "power_w": power})
            publisher.publish("rated/kettle", payload, qos=1).wait_for_publish(10)
        pipeline = telemetry.pipeline
        assert pipeline is not None
        deadline = time.monotonic() + 10
        while pipeline.counts().readings_stored < 1 or pipeline.refusals.total() < 1:
            assert time.monotonic() < deadline, "the two readings were not handled"
            await asyncio.sleep(0.05)
        assert pipeline.refusals.counts() == {("kettle", "power_implausible"): 1}
        async with http.get(f"{svc.url}/api/v1/devices/kettle/status") as resp:
            assert (await resp.json())["state"]["power_w"] == 2000.0
