"""Predictions and recommendations from the plan and the tariff, with hand-checkable numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.wiring.testing import RunningService, running_service

from .test_long_range import install_site, wait_for_plan

TOKEN = "predictions-test-token"
NOW = datetime(2026, 6, 9, 8, 20, tzinfo=UTC)  # the service's clock: mid-hour, mid-quarter-hour
SITE: dict[str, Any] = {
    "timezone": "UTC",
    "price": {
        "kind": "tou",
        "periods": [{"start": "00:00", "import_per_kwh": 0.10}, {"start": "12:00", "import_per_kwh": 0.30}],
    },
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 60}],
}


@pytest.fixture
async def planned(
    tmp_path: Path,
) -> AsyncIterator[tuple[RunningService, aiohttp.ClientSession, dict[str, Any]]]:
    install_site(tmp_path, SITE)  # planned by the MPC loop's start-up run, and by nothing else
    async with (
        running_service(tmp_path, token=TOKEN, clock=lambda: NOW) as svc,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        plan = await wait_for_plan(svc, http)
        yield svc, http, plan


@pytest.mark.parametrize(
    ("horizon", "granularity", "count"),
    [("24h", "hour", 24), ("48h", "hour", 48), ("7d", "hour", 168), ("30d", "day", 30)],
)
async def test_price_prediction_is_exact_from_the_tariff(
    planned: tuple[RunningService, aiohttp.ClientSession, dict[str, Any]],
    horizon: str,
    granularity: str,
    count: int,
) -> None:
    svc, http, _ = planned
    async with http.get(
        f"{svc.url}/api/v1/predictions", params={"kind": "price", "horizon": horizon}
    ) as resp:
        body = await resp.json()
    assert body["granularity"] == granularity and len(body["points"]) == count and body["source"] == "tariff"
    for point in body["points"]:
        start = datetime.fromisoformat(point["start"])
        if granularity == "hour":
            assert point["value"] == (0.10 if start.hour < 12 else 0.30)
        else:
            assert point["value"] == pytest.approx(0.20)  # half the day at each price


async def test_load_and_cost_follow_the_plan_then_the_outlook(
    planned: tuple[RunningService, aiohttp.ClientSession, dict[str, Any]],
) -> None:
    svc, http, plan = planned
    assert svc.service is not None and svc.service.outlook is not None
    await svc.service.outlook.wait()
    start = plan["horizon_start"]
    params = {"kind": "load", "horizon": "72h", "start": start}
    async with http.get(f"{svc.url}/api/v1/predictions", params=params) as resp:
        load = await resp.json()
    values = [p["value"] for p in load["points"]]
    assert plan["horizon_start"] == "2026-06-09T08:15:00+00:00"
    assert values == [400.0] * 72  # the flat fallback load, in W: the plan's, then the outlook's
    assert {p["source"] for p in load["points"][:48]} == {"plan"}
    assert {p["source"] for p in load["points"][49:]} == {"outlook"}
    async with http.get(
        f"{svc.url}/api/v1/predictions", params={**params, "kind": "cost", "horizon": "49h"}
    ) as resp:
        cost = await resp.json()
    planned_cost = sum(
        (s["grid_import_w"] * s["import_price"] - s["grid_export_w"] * s["export_price"]) / 4000
        for s in plan["steps"]
    )
    # The plan starts at 08:15: its last quarter hour shares the 49th hour with 45 minutes of the
    # outlook's 400 W at that hour's price (0.10 before noon).
    assert cost["points"][48]["source"] == "plan+outlook"
    assert sum(p["value"] for p in cost["points"]) == pytest.approx(
        planned_cost + 0.75 * 0.4 * 0.10, abs=1e-3
    )


async def test_horizon_limits_and_recommendations(
    planned: tuple[RunningService, aiohttp.ClientSession, dict[str, Any]],
) -> None:
    svc, http, plan = planned
    for bad in ("31d", "200h", "7w", "0h"):
        async with http.get(f"{svc.url}/api/v1/predictions", params={"kind": "pv", "horizon": bad}) as resp:
            assert resp.status == 400 and (await resp.json())["field"] == "horizon"
    async with http.get(f"{svc.url}/api/v1/recommendations") as resp:
        body = await resp.json()
    assert body["plan_id"] == plan["id"]
    by_id = {r["id"]: r for r in body["recommendations"]}
    run = by_id["run-dw"]
    assert run["start"] == plan["appliances"][0]["planned_start"]
    assert datetime.fromisoformat(run["start"]).hour < 12  # the cheap half of the day
    # The cheapest window is the add-on's one answer, the same the plan carries for now.
    window = by_id["cheapest-window"]
    answer = [e for e in plan["cheapest_windows"] if datetime.fromisoformat(e["from"]) <= NOW][-1]["next_24h"]
    step_now = next(
        s
        for s in plan["steps"]
        if datetime.fromisoformat(s["start"]) <= NOW < datetime.fromisoformat(s["end"])
    )
    begins = step_now["start"] if answer["running"] else answer["start"]  # a running one: the step in force
    assert datetime.fromisoformat(window["start"]) == datetime.fromisoformat(begins)
    assert datetime.fromisoformat(window["end"]) == datetime.fromisoformat(answer["end"])
    assert f"{answer['price']:.3f}" in window["detail"] and "0.100" in window["detail"]
    assert datetime.fromisoformat(window["start"]) >= datetime.fromisoformat(plan["horizon_start"])
    assert datetime.fromisoformat(plan["created_at"]) == NOW
