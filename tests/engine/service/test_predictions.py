"""Predictions and recommendations from the plan and the tariff, with hand-checkable numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.service.testing import RunningService, running_service

TOKEN = "predictions-test-token"
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
    async with (
        running_service(tmp_path, token=TOKEN) as svc,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
            assert resp.status == 200
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            plan = await resp.json()
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


async def test_load_and_cost_follow_the_plan_then_stop(
    planned: tuple[RunningService, aiohttp.ClientSession, dict[str, Any]],
) -> None:
    svc, http, plan = planned
    start = plan["horizon_start"]
    params = {"kind": "load", "horizon": "72h", "start": start}
    async with http.get(f"{svc.url}/api/v1/predictions", params=params) as resp:
        load = await resp.json()
    values = [p["value"] for p in load["points"]]
    assert values[:48] == [400.0] * 48  # the flat fallback load the plan used, in W
    assert set(values[48:50]) <= {400.0, None}  # the plan's last, partly covered hour
    assert values[50:] == [None] * 22 and "null" in load["source"]
    async with http.get(
        f"{svc.url}/api/v1/predictions", params={**params, "kind": "cost", "horizon": "49h"}
    ) as resp:
        cost = await resp.json()
    assert sum(p["value"] for p in cost["points"] if p["value"] is not None) == pytest.approx(
        sum(
            (s["grid_import_w"] * s["import_price"] - s["grid_export_w"] * s["export_price"]) / 4000
            for s in plan["steps"]
        ),
        abs=1e-3,
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
    window = by_id["cheapest-window"]
    assert datetime.fromisoformat(window["end"]) - datetime.fromisoformat(window["start"]) == timedelta(
        hours=2
    )
    assert "0.100" in window["detail"]
    assert datetime.fromisoformat(window["start"]) >= datetime.fromisoformat(plan["horizon_start"])
    assert datetime.now(tz=UTC) - datetime.fromisoformat(plan["created_at"]) < timedelta(minutes=5)
