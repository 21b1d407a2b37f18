"""The planner's load comes from the forecaster trained on the stored consumption history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shems_optimizer.app.records.models import Reading
from tests.support.service import plan_for, serving

TOKEN = "load-forecast-token"
SITE = {"timezone": "Europe/Paris", "price": {"kind": "fixed", "import_per_kwh": 0.3}}


def power_at(moment: datetime) -> float:
    # A plain daily pattern: 200 W, and 1,500 W every evening from 18:00 to 22:00 UTC.
    return 1500.0 if 18 <= moment.hour < 22 else 200.0


async def test_plan_load_follows_the_learned_daily_profile(tmp_path: Path) -> None:
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    start = (now - timedelta(days=10)).replace(minute=0)
    readings = []
    moment = start
    while moment < now - timedelta(minutes=5):
        readings.append(Reading("house", moment, power_w=power_at(moment)))
        moment += timedelta(minutes=5)
    async with serving(tmp_path, TOKEN) as (svc, http):
        assert svc.service is not None and svc.service.repo is not None and svc.service.devices is not None
        await svc.service.devices.register_device({"device_id": "house", "name": "House", "type": "load"})
        await asyncio.to_thread(svc.service.repo.write_readings, readings)
        await asyncio.to_thread(svc.service.repo.refresh_aggregates, start, now)
        plan = await plan_for(http, svc.url, SITE)
    assert "load forecast: learned from the measured consumption" in plan["message"]

    def utc_hour(step: dict[str, str]) -> int:
        return datetime.fromisoformat(step["start"]).astimezone(UTC).hour

    evening = [s["load_w"] for s in plan["steps"] if 19 <= utc_hour(s) < 21]
    night = [s["load_w"] for s in plan["steps"] if 2 <= utc_hour(s) < 5]
    assert evening and night
    assert sum(evening) / len(evening) > 1200  # the evening peak is forecast ...
    assert sum(night) / len(night) < 400  # ... and the quiet night
