"""Cost and savings of today and this month from the grid meter, across a month boundary and a restart.

A simple site (no PV, no battery, the flat 400 W fallback plan, fixed 0.25 EUR/kWh) and a grid meter
that reads 1,000 W: a metered quarter hour costs 0.25 kWh x 0.25 = 0.0625 EUR, a planned one
0.1 kWh x 0.25 = 0.025 EUR. Both stores run the same test.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from shems_optimizer.adapters.store import SqliteConfig, open_store
from shems_optimizer.app.config import StorageConfig
from shems_optimizer.app.records.models import Device, DeviceType, Home, Reading, StoredPlan
from shems_optimizer.app.reporting.bill import day_figures
from shems_optimizer.wiring.testing import RunningService, running_service

TOKEN = "month-costs-token"
SITE = {"timezone": "Europe/Paris", "price": {"kind": "fixed", "import_per_kwh": 0.25}}
METERED_QUARTER = 0.25 * 0.25
PLANNED_QUARTER = 0.1 * 0.25


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def status_of(svc: RunningService, http: aiohttp.ClientSession) -> dict[str, Any]:
    assert svc.service is not None and svc.service.bill is not None
    await svc.service.bill.wait()
    async with http.get(f"{svc.url}/api/v1/status") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
    return body


@pytest.mark.parametrize("storage", ["embedded", "timescaledb"])
async def test_month_starts_at_local_midnight_and_survives_a_restart(
    tmp_path: Path, storage: str, request: pytest.FixtureRequest
) -> None:
    options: dict[str, Any] = {}
    if storage == "timescaledb":
        options["storage"] = StorageConfig("timescaledb", request.getfixturevalue("timescale_dsn"))
    # 1 May 2026, 00:40 in Paris (30 April, 22:40 UTC): the month is 40 minutes old.
    clock = Clock(datetime(2026, 4, 30, 22, 40, tzinfo=UTC))
    meter_start = datetime(2026, 4, 30, 20, 0, tzinfo=UTC)  # two hours of April, then May
    readings = [
        Reading("grid", meter_start + timedelta(minutes=5 * i), power_w=1000.0)
        for i in range(int((clock.now - meter_start) / timedelta(minutes=5)))
    ]
    async with (
        running_service(tmp_path, token=TOKEN, clock=clock, **options) as svc,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        assert svc.service is not None and svc.service.repo is not None and svc.service.devices is not None
        repo = svc.service.repo
        await svc.service.devices.register_device({"device_id": "grid", "name": "Grid", "type": "grid"})
        await asyncio.to_thread(repo.write_readings, readings)
        await asyncio.to_thread(repo.refresh_aggregates, meter_start, clock.now)
        async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
            assert resp.status == 200, await resp.text()
        async with http.post(f"{svc.url}/api/v1/optimize") as resp:
            assert resp.status == 200, await resp.text()
        status = await status_of(svc, http)
        costs = status["costs"]
        assert costs["month_start"] == "2026-05-01T00:00:00+02:00"
        # May so far: 22:00-22:30 UTC metered (the quarter in progress is not), April left out.
        assert costs["month_import_kwh"] == pytest.approx(0.5)
        assert costs["month_measured_cost"] == pytest.approx(2 * METERED_QUARTER)
        assert status["cost_today"] == pytest.approx(2 * METERED_QUARTER)
        assert status["cost_month"] == pytest.approx(2 * METERED_QUARTER)
        # The rest of today, 22:30 UTC to midnight in Paris (22:00 UTC), is the plan's: 23.5 h.
        assert costs["rest_of_today_cost"] == pytest.approx(94 * PLANNED_QUARTER)
        expected = 2 * METERED_QUARTER + 94 * PLANNED_QUARTER
        assert costs["today_expected_cost"] == pytest.approx(expected)
        assert costs["month_expected_cost"] == pytest.approx(expected)
        # No plan was in force during May's first half hour (the first one was made at 22:40 UTC):
        # nothing saved yet, and the note says savings count from the first plan on.
        assert status["savings_today"] == 0.0 and status["savings_month"] == 0.0
        assert "savings count from the first plan on" in costs["note"]

        # Restart three and a half hours later; the meter sent nothing meanwhile.
        await svc.stop()
        clock.now = datetime(2026, 5, 1, 2, 10, tzinfo=UTC)
        await svc.start()
        status = await status_of(svc, http)
        costs = status["costs"]
        # Metered: 22:00-22:45 (the 22:30 quarter is complete now); 22:45-02:00 from the plan then in
        # force (13 quarters); 02:00 to midnight (20 h) from the current plan.
        assert costs["month_measured_cost"] == pytest.approx(3 * METERED_QUARTER)
        assert costs["month_estimated_hours"] == pytest.approx(3.25)
        assert costs["month_estimated_cost"] == pytest.approx(13 * PLANNED_QUARTER)
        assert costs["rest_of_today_cost"] == pytest.approx(80 * PLANNED_QUARTER)
        so_far = 3 * METERED_QUARTER + 13 * PLANNED_QUARTER
        assert status["cost_month"] == pytest.approx(so_far)
        assert status["cost_today"] == pytest.approx(so_far)
        assert costs["today_expected_cost"] == pytest.approx(so_far + 80 * PLANNED_QUARTER)
        assert "without measurements use the plan's cost" in costs["note"]
        # 14 quarter hours had a plan in force; nothing to shift on this site, so it saved nothing.
        assert status["savings_today"] == pytest.approx(0.0, abs=1e-6)
        assert status["savings_month"] == pytest.approx(0.0, abs=1e-6)
        first = status["cost_month"], status["savings_month"]

        # Once more, same clock: the figures are rebuilt from the store, identical.
        await svc.stop()
        await svc.start()
        again = await status_of(svc, http)
        assert (again["cost_month"], again["savings_month"]) == pytest.approx(first)


def test_market_prices_come_from_the_plan_in_force_at_the_time(tmp_path: Path) -> None:
    """A price entity has no tariff to ask: each quarter hour is priced from the archived plan."""
    site = {"timezone": "UTC", "price": {"kind": "entity", "entity_id": "sensor.spot"}}
    day = datetime(2026, 2, 10, tzinfo=UTC)
    with open_store(SqliteConfig(tmp_path / "store.sqlite3")) as repo:
        repo.upsert_home(Home("home", "Home", "UTC"))
        repo.upsert_device(Device("grid", "home", DeviceType.GRID, "Grid"))
        # Import 2 kW all day, export 1 kW from 12:00.
        repo.write_readings(
            [
                Reading("grid", day + timedelta(minutes=5 * i), power_w=2000.0 if i < 144 else -1000.0)
                for i in range(288)
            ]
        )
        repo.refresh_aggregates(day, day + timedelta(days=1))
        # The plan made just before midnight: 0.10 buy / 0.05 sell in the morning, 0.30 / 0.05 later;
        # a plan made at 06:00 with other prices must not replace them (it came later).
        for made, morning in ((day - timedelta(minutes=5), 0.10), (day + timedelta(hours=6), 0.90)):
            first = made.replace(minute=made.minute - made.minute % 15)
            steps = [
                {
                    "start": (first + timedelta(minutes=15 * i)).isoformat(),
                    "end": (first + timedelta(minutes=15 * (i + 1))).isoformat(),
                    "import_price": morning if (first + timedelta(minutes=15 * i)).hour < 12 else 0.30,
                    "export_price": 0.05,
                    "cost": 0.5,
                    "baseline_cost": 0.6,
                }
                for i in range(192)
            ]
            repo.save_plan(
                StoredPlan(
                    id=f"p{made.hour}",
                    home_id="home",
                    created_at=made,
                    horizon_start=first,
                    horizon_end=first + timedelta(hours=48),
                    status="optimal",
                    document={"id": f"p{made.hour}", "steps": steps},
                )
            )
        figures = day_figures(repo, "home", site, day.date(), day + timedelta(days=1), None)
    # Morning: 12 h x 2 kW x 0.10; afternoon: 12 h x 1 kW exported x 0.05 (the meter reads -1 kW).
    assert figures.import_kwh == pytest.approx(24.0)
    assert figures.export_kwh == pytest.approx(12.0)
    assert figures.measured_cost == pytest.approx(24 * 0.10 - 12 * 0.05)
    assert figures.measured_hours == pytest.approx(24.0)
    assert figures.estimated_hours == 0 and figures.unknown_hours == 0
    # The plan's quarter-hour steps each save 0.1 against the baseline: 96 of them.
    assert figures.savings == pytest.approx(9.6)


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2026-06-09", 24), ("2026-03-29", 23), ("2026-10-25", 25)],
    ids=["ordinary", "spring-forward", "fall-back"],
)
def test_a_local_day_is_priced_over_its_real_length(tmp_path: Path, day: str, hours: int) -> None:
    """1 kW all day at a fixed 0.20: the day costs 0.20 per real hour, 23 or 25 of them on DST days."""
    site = {"timezone": "Europe/Paris", "price": {"kind": "fixed", "import_per_kwh": 0.2}}
    local_day = date.fromisoformat(day)
    start = datetime.combine(local_day, time(0), tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)
    with open_store(SqliteConfig(tmp_path / "store.sqlite3")) as repo:
        repo.upsert_home(Home("home", "Home", "Europe/Paris"))
        repo.upsert_device(Device("grid", "home", DeviceType.GRID, "Grid"))
        repo.write_readings(
            [Reading("grid", start + timedelta(minutes=5 * i), power_w=1000.0) for i in range(12 * 26)]
        )
        repo.refresh_aggregates(start, start + timedelta(hours=26))
        figures = day_figures(repo, "home", site, local_day, start + timedelta(days=2), None)
    assert figures.measured_hours == pytest.approx(hours)
    assert figures.import_kwh == pytest.approx(hours)
    assert figures.measured_cost == pytest.approx(0.2 * hours)
    assert figures.unknown_hours == 0
