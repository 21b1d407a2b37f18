"""New plans appear as retained MQTT topics per asset; a late subscriber gets the plan in force."""

from __future__ import annotations

import asyncio
import json
import queue
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.service import plan_for, serving
from tests.support.sites import battery

TOKEN = "publisher-test-token"
PREFIX = f"shems-{uuid.uuid4().hex[:8]}"  # retained topics of other runs on the broker stay out
SITE = {
    "timezone": "UTC",
    "price": {"kind": "fixed", "import_per_kwh": 0.3},
    "batteries": [battery(capacity_kwh=5, max_charge_w=2000, max_discharge_w=2000, initial_soc_pct=50)],
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 1500, "duration_min": 30}],
}


async def test_plan_topics_are_retained_per_asset(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    async with serving(tmp_path, TOKEN, broker=mqtt_broker, mqtt_topic_prefix=PREFIX) as (svc, http):
        assert svc.service is not None and svc.service.mqtt is not None
        await asyncio.wait_for(svc.service.mqtt.connected.wait(), timeout=10)
        await plan_for(http, svc.url, SITE)
        # The service's own re-plan for the site just pushed may follow: the plan retained at the end
        # is the one in force once it is quiet.
        plan = await svc.quiet()
        assert plan is not None
        await asyncio.sleep(0.5)
    # The service is gone; the broker still holds the retained plan for late subscribers.
    got: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
    late = mqtt_client_factory()
    late.on_message = lambda _c, _u, msg: got.put((msg.topic, msg.payload, msg.retain))
    late.subscribe(f"{PREFIX}/plan/#", qos=1)
    messages: dict[str, Any] = {}
    while len(messages) < 3:
        topic, payload, retained = got.get(timeout=10)
        assert retained
        messages[topic] = json.loads(payload)
    battery = messages[f"{PREFIX}/plan/assets/bat"]
    assert battery["plan_id"] == plan["id"] and len(battery["steps"]) == len(plan["steps"])
    assert battery["steps"][0]["soc_pct"] == plan["steps"][0]["assets"]["bat"]["soc_pct"]
    summary = messages[f"{PREFIX}/plan/summary"]
    assert summary["id"] == plan["id"] and summary["appliances"][0]["id"] == "dw"
    assert f"{PREFIX}/plan/assets/dw" in messages
