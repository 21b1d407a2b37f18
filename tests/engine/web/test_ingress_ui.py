"""The ingress web UI in headless Chromium, through a stand-in for Home Assistant's ingress proxy.

The page must load under the ingress path prefix (every URL relative), draw its charts (checked in a
screenshot and by the canvases' ``data-rendered`` marks) and show values equal to the API's.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.wiring.testing import RunningService, running_service
from tests.support.browser import HEADLESS
from tests.support.ingress import ingress_proxy
from tests.support.sites import battery, tou

CHROMIUM = shutil.which("chromium") and "/usr/lib/chromium/chromium"
SITE: dict[str, Any] = {
    "timezone": "UTC",
    "currency": "EUR",
    "price": tou(("00:00", 0.12), ("07:00", 0.32)),
    "batteries": [battery(capacity_kwh=8, initial_soc_pct=30)],
    "appliances": [{"id": "dishwasher", "name": "Dishwasher", "power_w": 1800, "duration_min": 90}],
}


@pytest.fixture
async def addon(tmp_path: Path) -> AsyncIterator[tuple[RunningService, dict[str, Any]]]:
    # Loopback stands for the Supervisor's ingress address here: the proxy connects from it.
    async with running_service(tmp_path / "data", token="ui-token", trusted_peers=("127.0.0.1",)) as svc:
        async with aiohttp.ClientSession() as http:
            async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
                assert resp.status == 200
            async with http.post(f"{svc.url}/api/v1/optimize") as resp:
                assert resp.status == 200
        # The site just pushed also queues the service's own re-plan: the page shows the plan in
        # force once that has landed, not necessarily the one the optimize call answered.
        plan = await svc.quiet()
        assert plan is not None
        yield svc, plan


async def _chromium(*args: str) -> bytes:
    assert CHROMIUM, "Debian's chromium is not installed in the test environment"
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *HEADLESS,
        "--window-size=1280,2600",
        "--virtual-time-budget=15000",
        "--user-data-dir=/tmp/shems-chromium-profile",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out


async def test_ui_through_ingress_renders_charts_and_api_values(
    addon: tuple[RunningService, dict[str, Any]], tmp_path: Path
) -> None:
    svc, plan = addon
    async with ingress_proxy(svc.url) as page:
        dom = (await _chromium("--dump-dom", page)).decode()
        shot = tmp_path / "ui.png"
        await _chromium(f"--screenshot={shot}", page)
    assert 'data-loaded="true"' in dom, "the page's script did not finish (an asset or API call failed)"
    cost = re.search(r'id="cost-24h">([^<]*)<', dom)
    assert cost is not None and cost.group(1) == f"{plan['cost_next_24h']:.2f}"
    savings = re.search(r'id="plan-savings">([^<]*)<', dom)
    assert savings is not None and savings.group(1) == f"{plan['savings']:.2f}"
    for chart in ("chart-power", "chart-price", "chart-soc"):
        assert re.search(rf'id="{chart}"[^>]*data-rendered="true"', dom), f"{chart} not drawn"
    assert "ui-token" in dom  # the token is shown through ingress
    assert ">Dishwasher<" in dom and ">dishwasher<" not in dom  # the name people gave, not the id

    import matplotlib.image as mpimg
    import numpy as np

    image = mpimg.imread(shot)
    assert image.shape[1] == 1280
    colours = {tuple(np.round(px[:3], 1)) for px in image[::7, ::7].reshape(-1, image.shape[2])}
    assert len(colours) > 20, "the screenshot is nearly blank: the charts did not render"
    # The price line's purple is on the page.
    purple = np.array([0x6C, 0x34, 0x83]) / 255
    assert (np.abs(image[..., :3] - purple).sum(axis=-1) < 0.08).sum() > 200
