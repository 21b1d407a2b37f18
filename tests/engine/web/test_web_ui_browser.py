"""The add-on's web UI in a real headless Chromium (DevTools protocol), against the running service.

Opened directly, as in a plain container, the API answers 401 and the page asks for the token, keeps it
in the browser's local storage and then shows everything; through the ingress path (the Supervisor's
proxy, trusted) it shows the token with a copy button. Both ways the consumption chart draws bars from
``GET /api/v1/consumption``, every asset appears by the name people gave it and never by its id, and
the page logs no error. Its charts (uPlot, as the plan card) draw in a wide window and a phone-narrow one
without the page getting wider than the phone, and a pointer over a chart shows the values at that time,
by name and with units. Screenshots are kept under ``$SHEMS_ARTEFACTS`` (default: the system's temp
directory) in ``shems-artefacts/web-ui/``.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.app.records.models import Reading
from shems_optimizer.wiring.testing import RunningService, running_service
from tests.support.addon_page import ALL_CHARTS, PLAN_CHARTS, consumption_bars, drawn_within, tooltip_over
from tests.support.browser import Browser, Tab
from tests.support.ingress import ingress_proxy
from tests.support.sites import battery, tou

TOKEN = "browser-ui-token-5b1f0c9e"
INGRESS_PEER = "127.0.0.2"  # the proxy connects from here; the browser itself from 127.0.0.1
BATTERY_ID, EV_ID, DISHWASHER_ID = (
    "01JQ7Z5K8V3M2N4P6R8T0W2Y4A",
    "01JQ7Z5M1B3D5F7H9K1M3P5R7T",
    "01JQ7Z5P9X7V5T3R1P9M7K5H3F",
)
FRIDGE_ID = "01JQ7Z5R2C4E6G8J0L2N4Q6S8U"
IDS = (BATTERY_ID, EV_ID, DISHWASHER_ID, FRIDGE_ID)
NAMES = ("Garage battery", "Blue hatchback", "Kitchen dishwasher")
SITE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "currency": "EUR",
    "price": tou(("00:00", 0.12), ("07:00", 0.32)),
    "batteries": [battery(id=BATTERY_ID, name="Garage battery", capacity_kwh=8, initial_soc_pct=30)],
    "evs": [
        {
            "id": EV_ID,
            "name": "Blue hatchback",
            "battery_kwh": 50,
            "max_charge_w": 1400,
            "soc_pct": 20,
            "target_soc_pct": 100,  # more than 1.4 kW can add by 07:00: an unmet goal, in words
            "departure": "07:00",
        }
    ],
    "appliances": [{"id": DISHWASHER_ID, "name": "Kitchen dishwasher", "power_w": 1800, "duration_min": 90}],
}
ARTEFACTS = Path(os.environ.get("SHEMS_ARTEFACTS") or tempfile.gettempdir()) / "shems-artefacts" / "web-ui"


@pytest.fixture
async def addon(tmp_path: Path) -> AsyncIterator[RunningService]:
    async with running_service(tmp_path / "data", token=TOKEN, trusted_peers=(INGRESS_PEER,)) as svc:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
                assert resp.status == 200, await resp.text()
            body = {"device_id": FRIDGE_ID, "name": "Fridge", "type": "load"}
            async with http.post(f"{svc.url}/api/v1/devices", json=body) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post(f"{svc.url}/api/v1/optimize") as resp:
                assert resp.status == 200, await resp.text()
        # Six hours of a fridge's readings, one a minute, 80-400 W: bars of different heights.
        assert svc.service is not None and svc.service.repo is not None
        end = datetime.now(tz=UTC).replace(second=0, microsecond=0)
        start = end - timedelta(hours=6)
        readings = [
            Reading(FRIDGE_ID, start + timedelta(minutes=m), power_w=80.0 + 320.0 * ((m // 60) % 3) / 2)
            for m in range(6 * 60)
        ]
        await asyncio.to_thread(svc.service.repo.write_readings, readings)
        await asyncio.to_thread(svc.service.repo.refresh_aggregates, start, end)
        yield svc


async def _visible_text(page: Tab) -> str:
    text: str = await page.evaluate("document.body.innerText")
    return text


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    chromium = Browser(tmp_path / "chromium", tmp_path / "chromium.log")
    await chromium.start()
    try:
        yield chromium
    finally:
        await chromium.close()


def _names_not_ids(text: str) -> None:
    for name in NAMES:
        assert name in text, f"{name!r} is not shown"
    for asset_id in IDS:
        assert asset_id[:10] not in text, f"the internal id {asset_id} is shown"
    jargon = re.findall(r"\b\w+_(?:W|w|kw|kwh|pct|entity)\b|\w+\[\]", text)
    assert not jargon, f"field names shown to people: {jargon}"


async def test_plain_with_token_entry_and_through_ingress(addon: RunningService, browser: Browser) -> None:
    loaded = "document.body.dataset.loaded === 'true'"
    page = await browser.open(addon.url + "/", height=2800)
    await page.wait_for_js(f"{loaded} && document.body.dataset.needsToken === 'true'")
    assert await page.evaluate("document.getElementById('login').hidden") is False
    assert "/data/api_token" in await _visible_text(page)
    await page.screenshot(ARTEFACTS / "plain-token-form.png")
    # A wrong token is refused and nothing is kept.
    await page.evaluate(
        "document.getElementById('token-input').value = 'wrong';"
        "document.getElementById('login-form').requestSubmit()"
    )
    await page.wait_for_js("document.getElementById('login-error').textContent.includes('not accepted')")
    assert await page.evaluate("localStorage.getItem('shems_api_token')") is None
    await page.evaluate(
        f"document.getElementById('token-input').value = '{TOKEN}';"
        "document.getElementById('login-form').requestSubmit()"
    )
    await page.wait_for_js(
        f"{loaded} && !document.body.dataset.needsToken && "
        "document.getElementById('chart-consumption').dataset.rendered === 'true'"
    )
    assert await page.evaluate("localStorage.getItem('shems_api_token')") == TOKEN
    assert await page.evaluate("document.getElementById('login').hidden") is True
    bars = await consumption_bars(page)
    assert bars.count >= 6 and 2000 < bars.pixels <= bars.most, bars
    text = await _visible_text(page)
    _names_not_ids(text)
    assert "reaches" in text  # the unmet EV goal, in words
    await page.screenshot(ARTEFACTS / "plain-with-token.png")
    # The kept token is used again after a reload: no second prompt.
    await page.evaluate("delete document.body.dataset.loaded; location.reload()")
    await page.wait_for_js(f"{loaded} && document.getElementById('chart-soc').dataset.rendered === 'true'")
    assert await page.evaluate("document.body.dataset.needsToken") is None
    assert TOKEN not in await _visible_text(page)  # the panel alone shows the token
    assert page.errors == [], page.errors
    # Only the expected refusals before a token was entered (Chromium logs each as an error).
    unexpected = [e for e in page.network_errors if "status of 401" not in e]
    assert page.network_errors and not unexpected, unexpected

    async with ingress_proxy(addon.url, source_ip=INGRESS_PEER) as panel:
        page = await browser.open(panel, height=2800)
        await page.wait_for_js(
            f"{loaded} && document.getElementById('token').textContent === '{TOKEN}' && "
            "document.getElementById('chart-consumption').dataset.rendered === 'true'"
        )
        assert await page.evaluate("document.body.dataset.needsToken") is None
        assert await page.evaluate("document.getElementById('copy-token').hidden") is False
        await page.evaluate("document.getElementById('copy-token').click()")
        await page.wait_for_js("document.getElementById('copy-done').textContent === 'copied'")
        bars = await consumption_bars(page)
        assert bars.count >= 6 and 2000 < bars.pixels <= bars.most, bars
        _names_not_ids(await _visible_text(page))
        for chart in ("chart-power", "chart-price", "chart-soc", "chart-forecast"):
            rendered = await page.evaluate(f"document.getElementById('{chart}').dataset.rendered")
            assert rendered == "true", chart
        await page.screenshot(ARTEFACTS / "ingress.png")
        assert page.errors == [] and page.network_errors == [], (page.errors, page.network_errors)


JARGON = re.compile(r"\b\w+_(?:W|w|kw|kwh|pct|entity|price)\b")


async def test_charts_draw_with_tooltips_wide_and_on_a_phone(addon: RunningService, browser: Browser) -> None:
    loaded = "document.body.dataset.loaded === 'true'"
    async with ingress_proxy(addon.url, source_ip=INGRESS_PEER) as panel:
        page = await browser.open(panel, width=1280, height=2800)
        await page.wait_for_js(loaded)
        for name, width, height in (("wide", 1280, 2800), ("phone", 390, 4200)):
            await page.resize(width, height)
            drawing = await drawn_within(page, width)
            assert drawing.page_width <= width, (name, drawing.page_width)
            lefts = {chart: drawing.charts[chart]["plot_left"] for chart in PLAN_CHARTS}
            assert len(set(lefts.values())) == 1, (name, lefts)  # the plan's times line up
            for chart in ALL_CHARTS:
                assert drawing.charts[chart]["ink"] > 0.01, (name, chart, drawing.charts[chart])
            labels = drawing.labels()
            for asset in NAMES:
                assert any(label.startswith(asset) for label in labels), (asset, labels)
            assert not [label for label in labels if JARGON.search(label)], labels
            power = await tooltip_over(page, "chart-power")
            assert "kW" in power and "Garage battery" in power and not JARGON.search(power), power
            await page.screenshot(ARTEFACTS / f"charts-{name}.png")
        # The consumption chart's bars, per hour, with their unit.
        bars = await tooltip_over(page, "chart-consumption")
        assert re.search(r"Energy used per hour: \d+\.\d+ kWh", bars), bars
        await page.screenshot(ARTEFACTS / "charts-phone-tooltip.png")
        assert page.errors == [] and page.network_errors == [], (page.errors, page.network_errors)
