"""The service on TimescaleDB: a database outage answers 503 with a clear message, planning goes on,
and everything works again once the database is back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shems_optimizer.app.config import StorageConfig
from tests.support.service import put_site, register_device, serving

TOKEN = "outage-token"
SITE = {
    "timezone": "UTC",
    "price": {"kind": "fixed", "import_per_kwh": 0.3},
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 60}],
}


async def test_database_outage(tmp_path: Path, timescale_dsn: str, services: Any) -> None:
    async with serving(tmp_path, TOKEN, storage=StorageConfig("timescaledb", timescale_dsn)) as (svc, http):
        assert svc.service is not None and svc.service.repo is not None
        assert svc.service.repo.backend != "sqlite"
        await register_device(http, svc.url, {"device_id": "m", "name": "M", "type": "grid"})
        await put_site(http, svc.url, SITE)
        await asyncio.to_thread(services.stop_postgres)
        try:
            async with http.get(f"{svc.url}/api/v1/devices/m/commands") as resp:
                assert resp.status == 503
                body = await resp.json()
            assert body["code"] == "store_unavailable" and "database" in body["error"]
            async with http.post(f"{svc.url}/api/v1/optimize") as resp:
                assert resp.status == 200  # planning does not need the database
                plan = await resp.json()
            async with http.get(f"{svc.url}/api/v1/health") as resp:
                assert resp.status == 200
            assert svc.service.bill is not None
            await svc.service.bill.wait()
            async with http.get(f"{svc.url}/api/v1/status") as resp:
                assert resp.status == 200  # the cost figures are kept, and say why they are old
                assert (await resp.json())["costs"]["note"].startswith("not updated: ")
        finally:
            await asyncio.to_thread(services.start_postgres)
        async with http.get(f"{svc.url}/api/v1/plan") as resp:
            assert (await resp.json())["id"] == plan["id"]
        for _ in range(50):  # the pool reconnects
            async with http.get(f"{svc.url}/api/v1/devices/m/commands") as resp:
                if resp.status == 200:
                    break
            await asyncio.sleep(0.2)
        assert resp.status == 200
        await svc.service.bill.refresh()
        async with http.get(f"{svc.url}/api/v1/status") as resp:
            assert "not updated" not in ((await resp.json())["costs"]["note"] or "")
