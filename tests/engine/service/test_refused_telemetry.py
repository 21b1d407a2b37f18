"""A device's rated power, given at registration, bounds the telemetry SHEMS believes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.service import register_device, serving, subscribed_telemetry

TOKEN = "refused-telemetry-token"
TOPIC = "rated/kettle"


async def test_power_beyond_the_registered_rating_is_refused(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    async with serving(tmp_path, TOKEN, broker=mqtt_broker) as (svc, http):
        body = {
            "device_id": "kettle",
            "name": "Kettle",
            "type": "appliance",
            "mqtt": {"state_topic": TOPIC},
            "max_power_w": 3000,
        }
        assert (await register_device(http, svc.url, body))["max_power_w"] == 3000
        async with http.post(
            f"{svc.url}/api/v1/devices", json={**body, "device_id": "k2", "max_power_w": 0}
        ) as resp:
            assert resp.status == 400 and "max_power_w" in (await resp.json())["error"]
        telemetry = await subscribed_telemetry(svc)
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
        publisher = mqtt_client_factory()
        for second, power in ((0, 5000.0), (1, 2000.0)):
            payload = json.dumps({"time": (at + timedelta(seconds=second)).isoformat(), "power_w": power})
            publisher.publish(TOPIC, payload, qos=1).wait_for_publish(10)
        pipeline = telemetry.pipeline
        assert pipeline is not None
        deadline = time.monotonic() + 10
        while pipeline.counts().readings_stored < 1 or pipeline.refusals.total() < 1:
            assert time.monotonic() < deadline, "the two readings were not handled"
            await asyncio.sleep(0.05)
        assert pipeline.refusals.counts() == {("kettle", "power_implausible"): 1}
        async with http.get(f"{svc.url}/api/v1/devices/kettle/status") as resp:
            assert (await resp.json())["state"]["power_w"] == 2000.0
