"""Device telemetry over the real broker reaches the store, the live status and the stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.service import register_telemetry_device, serving

TOKEN = "telemetry-test-token"
TOPIC = "home/heatpump/state"
HEAT_PUMP = {
    "device_id": "heatpump",
    "name": "Heat pump",
    "type": "heat_pump",
    "mqtt": {"state_topic": TOPIC},
}


async def test_state_topic_feeds_status_usage_and_stream(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    async with serving(tmp_path, TOKEN, broker=mqtt_broker) as (svc, http):
        await register_telemetry_device(svc, http, HEAT_PUMP)
        async with http.ws_connect(f"{svc.url}/api/v1/stream") as ws:
            publisher = mqtt_client_factory()
            payload = {"time": "2026-03-01T12:00:00+00:00", "power_w": 2400.0, "energy_kwh": 12.5}
            publisher.publish(TOPIC, json.dumps(payload), qos=1).wait_for_publish(10)
            update = None
            while update is None:
                event = json.loads((await asyncio.wait_for(ws.receive(), timeout=15)).data)
                if event["type"] == "device_update":
                    update = event["data"]
        assert update["device_id"] == "heatpump" and update["status"]["power_w"] == 2400.0
        assert update["source"] == "registered"
        async with http.get(f"{svc.url}/api/v1/devices/heatpump/status") as resp:
            status = await resp.json()
        assert status["state"]["energy_kwh"] == 12.5
        async with http.get(f"{svc.url}/api/v1/usage") as resp:
            assert (await resp.json())["total_power_w"] == 2400.0
        assert svc.service is not None and svc.service.repo is not None
        assert svc.service.repo.count_readings("heatpump") == 1
        async with http.get(f"{svc.url}/api/v1/health") as resp:
            components = (await resp.json())["components"]
        assert components["telemetry"]["ok"] and components["mqtt"]["ok"]
