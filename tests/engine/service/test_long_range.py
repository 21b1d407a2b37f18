"""The 7-day outlook and long-range predictions, on the running service with an injected clock.

The site is as simple as a site gets, so every figure is checked by hand: no PV, no battery, the flat
400 W fallback load (no consumption history) and a fixed 0.25 EUR/kWh, so the house imports 0.4 kWh an
hour costing 0.10 EUR, 2.40 EUR a day of 24 hours (2.30 on the 23-hour DST day).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from shems_optimizer.api.routes.predictions import PREDICTION_SCHEMA
from shems_optimizer.app.planning.engine_planner import BasicInputs, EnginePlanner
from shems_optimizer.app.planning.outlook import PRICE_REPEATED
from shems_optimizer.app.planning.planning import PlanningError
from shems_optimizer.app.planning.planning_inputs import PlanningInputs
from shems_optimizer.app.site.site_document import validate_site_document
from shems_optimizer.core.timegrid import TimeGrid
from shems_optimizer.wiring.testing import RunningService, running_service

TOKEN = "long-range-token"
HOURLY_COST = 0.4 * 0.25


def site(timezone: str) -> dict[str, Any]:
    return {"timezone": timezone, "price": {"kind": "fixed", "import_per_kwh": 0.25}}


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@asynccontextmanager
async def planned_service(
    tmp_path: Path, now: datetime, timezone: str, **options: Any
) -> AsyncIterator[tuple[RunningService, aiohttp.ClientSession, dict[str, Any]]]:
    install_site(tmp_path, site(timezone))
    async with (
        running_service(tmp_path, token=TOKEN, clock=fixed_clock(now), **options) as svc,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        plan = await wait_for_plan(svc, http)
        assert svc.service is not None and svc.service.outlook is not None
        await svc.service.outlook.wait()
        yield svc, http, plan


def install_site(data_dir: Path, document: Mapping[str, Any]) -> None:
    """The site as if set before a restart: the MPC loop's start-up run plans it, and nothing else
    triggers a run (a site set through the API would trigger a second one, racing the test)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "site.json").write_text(json.dumps(validate_site_document(document)))


async def wait_for_plan(svc: RunningService, http: aiohttp.ClientSession) -> dict[str, Any]:
    for _ in range(600):
        async with http.get(f"{svc.url}/api/v1/plan") as resp:
            if resp.status == 200:
                plan: dict[str, Any] = await resp.json()
                return plan
        await asyncio.sleep(0.05)
    raise AssertionError("no plan 30 s after start-up")


async def predictions(
    svc: RunningService, http: aiohttp.ClientSession, kind: str, horizon: str, start: datetime
) -> dict[str, Any]:
    params = {"kind": kind, "horizon": horizon, "start": start.isoformat()}
    async with http.get(f"{svc.url}/api/v1/predictions", params=params) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
    declared = PREDICTION_SCHEMA["properties"]["points"]["items"]["properties"]
    for point in body["points"]:
        assert set(point) <= set(declared), "a point field the OpenAPI declaration does not list"
        assert point["source"] in declared["source"]["enum"]
    return body


async def test_week_hourly_and_month_daily_are_complete_and_hand_checkable(tmp_path: Path) -> None:
    now = datetime(2026, 6, 9, 9, 37, tzinfo=UTC)  # a Tuesday, mid-quarter-hour on purpose
    async with planned_service(tmp_path, now, "UTC") as (svc, http, plan):
        assert plan["horizon_start"] == "2026-06-09T09:30:00+00:00"

        cost = await predictions(svc, http, "cost", "7d", now)
        points = cost["points"]
        assert len(points) == 168 and all(p["value"] is not None for p in points)
        assert points[0]["start"] == "2026-06-09T09:00:00+00:00"
        assert points[0]["value"] == pytest.approx(HOURLY_COST / 2)  # the plan starts at 09:30
        assert [p["value"] for p in points[1:]] == pytest.approx([HOURLY_COST] * 167)
        sources = [p["source"] for p in points]
        assert sources[:48] == ["plan"] * 48
        assert sources[48] == "plan+outlook"  # 09:00-09:30 planned, 09:30-10:00 from the outlook
        assert sources[49:] == ["outlook"] * 119
        assert "outlook (hourly" in cost["source"] and "flat fallback load" in cost["source"]

        load = await predictions(svc, http, "load", "7d", now)
        assert [p["value"] for p in load["points"]] == [400.0] * 168
        price = await predictions(svc, http, "price", "7d", now)
        assert {p["value"] for p in price["points"]} == {0.25} and price["source"] == "tariff"

        daily = await predictions(svc, http, "cost", "30d", now)
        days = daily["points"]
        assert len(days) == 30 and all(p["value"] is not None for p in days)
        assert days[0]["value"] == pytest.approx(14.5 * HOURLY_COST)  # the rest of today from 09:30
        assert [p["value"] for p in days[1:]] == pytest.approx([24 * HOURLY_COST] * 29)
        assert [p["source"] for p in days[:7]] == ["plan"] * 2 + ["plan+outlook"] + ["outlook"] * 4
        assert [p["source"] for p in days[7:]] == ["calendar"] * 23  # the outlook ends at 10:00 on day 7
        assert "calendar" in daily["source"]
        energy = await predictions(svc, http, "load", "30d", now)
        assert [p["value"] for p in energy["points"][1:]] == pytest.approx([9.6] * 29)  # kWh a day

        # The plan carries the week's cost once the outlook is done; so does the status.
        async with http.get(f"{svc.url}/api/v1/plan") as resp:
            current = await resp.json()
        assert current["id"] == plan["id"]
        assert current["cost_next_7d"] == pytest.approx(168 * HOURLY_COST)
        async with http.get(f"{svc.url}/api/v1/status") as resp:
            status = await resp.json()
        assert status["cost_next_7d"] == pytest.approx(168 * HOURLY_COST)
        assert status["outlook"]["plan_id"] == plan["id"] and status["outlook"]["error"] is None
        assert status["outlook"]["cost_total"] == pytest.approx(169 * HOURLY_COST)


async def test_dst_week_has_hourly_steps_in_real_time_and_a_23_hour_day(tmp_path: Path) -> None:
    # Friday 27 March 2026, 11:00 in Paris; clocks go forward on Sunday 29 March at 02:00.
    now = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    async with planned_service(tmp_path, now, "Europe/Paris") as (svc, http, _plan):
        hourly = await predictions(svc, http, "load", "7d", now)
        starts = [datetime.fromisoformat(p["start"]) for p in hourly["points"]]
        assert len(starts) == 168 and all(p["value"] == 400.0 for p in hourly["points"])
        assert all(b - a == timedelta(hours=1) for a, b in pairwise(starts))
        offsets = {s.astimezone(paris).utcoffset() for s in starts}
        assert offsets == {timedelta(hours=1), timedelta(hours=2)}

        daily = await predictions(svc, http, "cost", "30d", now)
        by_day = {datetime.fromisoformat(p["start"]).date().isoformat(): p for p in daily["points"]}
        assert by_day["2026-03-27"]["value"] == pytest.approx(13 * HOURLY_COST)  # 11:00 to midnight
        assert by_day["2026-03-28"]["value"] == pytest.approx(24 * HOURLY_COST)
        assert by_day["2026-03-29"]["value"] == pytest.approx(23 * HOURLY_COST)  # the short day
        assert by_day["2026-03-29"]["end"] == "2026-03-30T00:00:00+02:00"
        # A later Sunday from the calendar is an ordinary 24-hour day, not a copy of the short one.
        assert by_day["2026-04-05"]["source"] == "calendar"
        assert by_day["2026-04-05"]["value"] == pytest.approx(24 * HOURLY_COST)
        assert by_day["2026-04-12"]["value"] == pytest.approx(24 * HOURLY_COST)


class OutlookFails(EnginePlanner):
    def make_outlook(self, site: Mapping[str, Any], now: datetime, plan_id: str | None) -> dict[str, Any]:
        raise PlanningError("the outlook's solver gave up")


async def test_a_failing_outlook_leaves_the_plan_alone_and_says_so(tmp_path: Path) -> None:
    now = datetime(2026, 6, 9, 12, 0, tzinfo=UTC)
    async with planned_service(tmp_path, now, "UTC", planner=OutlookFails()) as (svc, http, plan):
        async with http.get(f"{svc.url}/api/v1/status") as resp:
            status = await resp.json()
        assert status["optimizer"] == "idle" and status["plan_id"] == plan["id"]
        assert status["outlook"]["error"] == "PlanningError: the outlook's solver gave up"
        assert status["cost_next_7d"] is None
        cost = await predictions(svc, http, "cost", "7d", now)
        values = [p["value"] for p in cost["points"]]
        assert values[:48] == pytest.approx([HOURLY_COST] * 48)
        assert values[48:] == [None] * 120
        assert {p["source"] for p in cost["points"][48:]} == {"none"}
        assert "null where nothing covers" in cost["source"]


class QuarterPrices(BasicInputs):
    """Market prices per quarter hour: 0.10, 0.20, 0.30, 0.40 in every hour, published for 26 h."""

    def inputs(self, site: Mapping[str, Any], grid: TimeGrid, now: datetime) -> PlanningInputs:
        n = grid.steps
        buy = [0.1 * (1 + i % 4) for i in range(n)]
        return PlanningInputs([0.4] * n, [0.0] * n, buy, [0.0] * n, (), None, published_price_steps=26 * 4)


def test_outlook_averages_quarter_hour_prices_and_says_which_are_published() -> None:
    planner = EnginePlanner(QuarterPrices())
    market = {"timezone": "UTC", "price": {"kind": "entity", "entity_id": "sensor.spot"}}
    outlook = planner.make_outlook(market, datetime(2026, 6, 9, 9, 37, tzinfo=UTC), "p1")
    steps = outlook["steps"]
    assert len(steps) == 169 and steps[0]["start"] == "2026-06-09T09:00:00+00:00"
    assert [s["import_price"] for s in steps] == pytest.approx([0.25] * 169)  # the hour's mean
    assert [s["price_source"] for s in steps] == ["published"] * 26 + [PRICE_REPEATED] * 143
    assert [s["cost"] for s in steps] == pytest.approx([0.4 * 0.25] * 169)
    assert outlook["cost_total"] == pytest.approx(169 * 0.1) and outlook["plan_id"] == "p1"


async def test_after_a_restart_the_outlook_is_rebuilt_for_the_plan_in_force(tmp_path: Path) -> None:
    now = datetime(2026, 6, 9, 9, 0, tzinfo=UTC)
    async with planned_service(tmp_path, now, "UTC") as (svc, http, plan):
        await svc.stop()
        await svc.start()  # the plan is 0 minutes old by the clock: it stays in force, no re-plan
        assert svc.service is not None and svc.service.outlook is not None
        await svc.service.outlook.wait()
        async with http.get(f"{svc.url}/api/v1/plan") as resp:
            current = await resp.json()
        assert current["id"] == plan["id"]
        assert current["cost_next_7d"] == pytest.approx(168 * HOURLY_COST)
        daily = await predictions(svc, http, "cost", "30d", now)
        expected = [15 * HOURLY_COST] + [24 * HOURLY_COST] * 29  # today from 09:00, then whole days
        assert [p["value"] for p in daily["points"]] == pytest.approx(expected)
