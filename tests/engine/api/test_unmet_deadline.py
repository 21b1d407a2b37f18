"""An appliance that cannot finish by its deadline is an unmet goal, in words, never a run later on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp

from shems_optimizer.wiring.testing import RunningService
from tests.support.service import optimize, put_site

from .conftest import auth

SITE = {
    "timezone": "Europe/Berlin",
    "price": {"kind": "fixed", "import_per_kwh": 0.3},
    "appliances": [
        {"id": "dw1", "name": "Kitchen dishwasher", "power_w": 2000, "duration_min": 120},
        {"id": "wm1", "name": "Washing machine", "power_w": 2000, "duration_min": 60},
    ],
}


async def test_a_120_min_run_due_in_10_min_is_an_unmet_goal_naming_the_appliance(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    await put_site(http, svc.url, SITE, headers=auth())
    soon = (datetime.now(tz=UTC) + timedelta(minutes=10)).replace(microsecond=0)
    later = soon + timedelta(hours=6)
    for appliance, finish_by in (("dw1", soon), ("wm1", later)):
        body = {"appliance_id": appliance, "finish_by": finish_by.isoformat()}
        async with http.post(f"{svc.url}/api/v1/schedules", json=body, headers=auth()) as resp:
            assert resp.status == 201, await resp.text()
    plan = await optimize(http, svc.url, headers=auth())

    runs = {a["id"]: a for a in plan["appliances"]}
    assert runs["dw1"]["planned_start"] is None  # not quietly moved to another time
    assert datetime.fromisoformat(runs["wm1"]["planned_end"]) <= later  # the feasible one still runs
    (goal,) = plan["unmet_goals"]
    assert goal["asset_id"] == "dw1" and goal["goal"] == "appliance_deadline"
    message = goal["message"]
    assert message.startswith("Kitchen dishwasher cannot run in this plan")
    assert "2 h programme does not fit" in message
    assert "dw1" not in message
