"""Live updates change only what they are about: no refresh storm.

The add-on mirrors the home's own sensors (grid, PV, battery, sub-meters: six here) and streams every
reading of them; Home Assistant shows those sensors already, so their updates must cost nothing. A
registered meter's reading updates that meter in place; a new plan arrives on the stream; the poll
fetches the plan (tens of kilobytes) only when the status names another plan.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import wait_for

ROUNDS = 10


def count_requests(entry: MockConfigEntry) -> Counter[str]:
    """Count the integration's requests to the add-on ("GET /plan": 3) while passing them on."""
    client = entry.runtime_data.client
    counts: Counter[str] = Counter()
    send = client.request

    async def counted(method: str, path: str, **kwargs: Any) -> Any:
        counts[f"{method} {path}"] += 1
        return await send(method, path, **kwargs)

    client.request = counted  # type: ignore[method-assign]
    return counts


async def test_mirrored_sensor_updates_fetch_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, addon: Any
) -> None:
    from shems_optimizer.adapters.ingest.site_meters import site_meters
    from shems_optimizer.app.records.models import Reading
    from shems_optimizer.wiring.process import HOME_ID

    coordinator = loaded_entry.runtime_data.coordinator
    client = loaded_entry.runtime_data.client
    # The add-on's Home Assistant ingester (its WebSocket to HA is the outside world here) creates the
    # mirror devices of the site and hands their readings to the device registry; so does this test.
    site = addon.service.site.get()
    await addon.service.devices.sync_site_devices([m.device(HOME_ID) for m in site_meters(site)])
    await client.request(
        "POST", "/devices", payload={"device_id": "wallbox", "name": "Wallbox", "type": "ev"}
    )
    await coordinator.async_refresh()
    listed = await client.request("GET", "/devices")
    mirrors = [d["device_id"] for d in listed.get("devices", listed) if d["source"] == "site"]
    assert len(mirrors) == 6 and "wallbox" in coordinator.data.meters
    counts = count_requests(loaded_entry)
    updates_before = coordinator.data

    start = datetime.now(tz=UTC)
    for n in range(1, ROUNDS + 1):
        moment = start + timedelta(seconds=10 * n)
        # What the ingester hands over every 10 s, then a reading of the wallbox (an MQTT meter).
        addon.service.devices.record_readings(
            [Reading(device_id, moment, power_w=100.0 * n) for device_id in mirrors]
        )
        addon.service.devices.record_readings([Reading("wallbox", moment, power_w=1000.0 * n)])
        await wait_for(lambda n=n: coordinator.data.meters["wallbox"].power_w == 1000.0 * n)
    await hass.async_block_till_done()

    assert counts == Counter()  # not one request: no refresh, no plan, no device list
    assert coordinator.data.plan is updates_before.plan
    assert hass.states.get("sensor.wallbox_power").state == str(1000.0 * ROUNDS)


async def test_the_poll_fetches_the_plan_only_when_it_changed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, addon: Any
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    await wait_for(
        lambda: coordinator.data.plan is not None and coordinator.data.plan.cost_next_7d is not None
    )
    counts = count_requests(loaded_entry)
    for _ in range(3):
        await coordinator.async_refresh()
    assert counts["GET /status"] == 3 and counts["GET /plan"] == 0

    # A plan the add-on makes on its own schedule arrives on the stream, not through a fetch.
    held = coordinator.data.plan
    plan = await addon.service.plans.run("schedule")
    await wait_for(lambda: coordinator.data.plan.plan_id == plan["id"])
    assert coordinator.data.plan.plan_id != held.plan_id
    assert counts["GET /plan"] == 0
