"""The container started as the README's plain set-up says, without Home Assistant's URL and token:
one clear start-up line says what is missing and what it means, the status carries the problem for the
integration's repair issue, and fixed and time-of-use tariffs still plan."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import free_port
from tests.support.service import until_answering
from tests.support.sites import battery, tou

from .test_entrypoint import REPO, RUN_SH

BATTERY = battery(
    name="Garage battery", capacity_kwh=5, max_charge_w=2000, max_discharge_w=2000, initial_soc_pct=40
)
FIXED = {
    "timezone": "Europe/Berlin",
    "price": {"kind": "fixed", "import_per_kwh": 0.30},
    "batteries": [BATTERY],
}
TOU = {
    "timezone": "Europe/Berlin",
    "price": tou(("00:00", 0.10), ("06:00", 0.40)),
    "batteries": [BATTERY],
}
FROM_SENSOR = {**FIXED, "price": {"kind": "entity", "entity_id": "sensor.epex_price"}}


async def test_plain_container_without_home_assistant_says_so_and_still_plans(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERVISOR_", "SHEMS_"))}
    env.update(SHEMS_DATA_DIR=str(data_dir), SHEMS_PORT=str(port), PYTHONPATH=f"{REPO / 'optimizer'}:{REPO}")
    proc = await asyncio.create_subprocess_exec(
        "sh", str(RUN_SH), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await until_answering(http, f"{url}/api/v1/health", timeout_s=60)
            token = (data_dir / "api_token").read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}

            async def status() -> dict[str, Any]:
                async with http.get(f"{url}/api/v1/status", headers=headers) as resp:
                    assert resp.status == 200
                    answer: dict[str, Any] = await resp.json()
                    return answer

            (problem,) = (await status())["problems"]
            assert problem["code"] == "no_home_assistant"
            assert "reads no Home Assistant sensors and no prices from Home Assistant" in problem["message"]
            for site in (FIXED, TOU):
                async with http.put(f"{url}/api/v1/site", json=site, headers=headers) as resp:
                    assert resp.status == 200, await resp.text()
                async with http.post(f"{url}/api/v1/optimize", headers=headers) as resp:
                    assert resp.status == 200, await resp.text()
                    plan = await resp.json()
                assert plan["status"] in ("optimal", "feasible") and plan["steps"]
                assert (await status())["optimizer"] == "idle"
            prices = {step["import_price"] for step in plan["steps"]}
            assert prices == {0.10, 0.40}  # the time-of-use tariff, without Home Assistant
            async with http.put(f"{url}/api/v1/site", json=FROM_SENSOR, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
            async with http.post(f"{url}/api/v1/optimize", headers=headers) as resp:
                assert resp.status == 422
            (problem,) = (await status())["problems"]
            assert "price comes from a Home Assistant sensor" in problem["message"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    said = [line for line in lines if line.get("problem") == "no_home_assistant"]
    assert len(said) == 1 and said[0]["level"] == "warning"
    assert "SHEMS_HA_URL" in said[0]["message"] and "fixed or time-of-use price" in said[0]["message"]
    (where,) = [line for line in lines if "api_token_file" in line]
    assert where["api_token_file"] == str(data_dir / "api_token") and str(data_dir) in where["message"]
    assert token not in stderr.decode()  # the token itself never reaches the log
