"""Home Assistant test harness set-up for the SHEMS integration.

The add-on is the real one (``shems_optimizer.wiring.testing.running_service``: the API on loopback
with the embedded store, in the test's event loop). Only the outside world is simulated: the sensors
of the meters and price integrations (HA states), the Energy dashboard preferences and Supervisor
discovery payloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.const import DOMAIN

TOKEN = "test-token"
BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "shems"

GRID_IMPORT = "sensor.grid_import_energy"
GRID_EXPORT = "sensor.grid_export_energy"
GRID_POWER = "sensor.grid_power"
SOLAR = "sensor.solar_energy"
WASHER = "sensor.washer_energy"
BATTERY_IN = "sensor.battery_charged_energy"
BATTERY_OUT = "sensor.battery_discharged_energy"
PRICE = "sensor.nordpool_kwh_de"
WRONG_UNIT = "sensor.grid_power_mislabelled"

ENERGY_ATTRS = {"device_class": "energy", "unit_of_measurement": "kWh", "state_class": "total_increasing"}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/shems in every integration test."""


@pytest.fixture
async def home(hass: HomeAssistant) -> None:
    """The home's own sensors, as the meter and price integrations would publish them."""
    hass.config.currency = "EUR"
    hass.config.latitude, hass.config.longitude = 48.83, 2.35
    await hass.config.async_set_time_zone("Europe/Berlin")
    for entity_id, value in (
        (GRID_IMPORT, "1520.4"),
        (GRID_EXPORT, "310.2"),
        (SOLAR, "2210.9"),
        (WASHER, "88.1"),
        (BATTERY_IN, "400.0"),
        (BATTERY_OUT, "370.0"),
    ):
        hass.states.async_set(entity_id, value, ENERGY_ATTRS)
    hass.states.async_set(GRID_POWER, "830", {"device_class": "power", "unit_of_measurement": "W"})
    hass.states.async_set(WRONG_UNIT, "830", {"device_class": "power", "unit_of_measurement": "W"})
    set_price_entity(hass)


@pytest.fixture
async def assist(hass: HomeAssistant) -> None:
    """Home Assistant's conversation integration, as every default installation has it."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


def nordpool_attributes(hours: int = 48, unit: str = "EUR/kWh") -> dict[str, Any]:
    """Attributes in the shape of the Nord Pool custom integration: raw_today/raw_tomorrow lists."""
    start = dt_util.start_of_local_day()
    raw = [
        {
            "start": (start + timedelta(hours=h)).isoformat(),
            "end": (start + timedelta(hours=h + 1)).isoformat(),
            # Cheapest at 03:00 each day (0.10), dearest at 18:00 (0.40): easy to check by hand.
            "value": 0.10 if h % 24 == 3 else 0.40 if h % 24 == 18 else 0.25,
        }
        for h in range(hours)
    ]
    return {"unit_of_measurement": unit, "raw_today": raw[:24], "raw_tomorrow": raw[24:]}


def set_price_entity(hass: HomeAssistant, **kwargs: Any) -> None:
    hass.states.async_set(PRICE, "0.25", nordpool_attributes(**kwargs))


# The running add-ons by URL, so helpers given only a config entry can wait for its add-on.
ADDONS: dict[str, Any] = {}


@pytest.fixture
def blueprint_folder(hass: HomeAssistant, tmp_path: Path) -> None:
    """The repository's blueprints where Home Assistant looks for them: <config>/blueprints/automation."""
    config = tmp_path / "config"
    folder = config / "blueprints" / "automation"
    folder.mkdir(parents=True)
    (folder / "shems").symlink_to(BLUEPRINTS, target_is_directory=True)
    hass.config.config_dir = str(config)


@pytest.fixture
async def addon(tmp_path: Path, socket_enabled: None) -> AsyncIterator[Any]:
    """The real SHEMS add-on service on loopback with its embedded store."""
    from shems_optimizer.wiring.testing import running_service

    async with running_service(tmp_path / "addon", token=TOKEN) as svc:
        ADDONS[svc.url] = svc
        yield svc
        ADDONS.pop(svc.url, None)


@pytest.fixture
async def addon_with_broker(tmp_path: Path, socket_enabled: None, mqtt_broker: Any) -> AsyncIterator[Any]:
    from shems_optimizer.wiring.testing import running_service

    async with running_service(
        tmp_path / "addon", token=TOKEN, mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port
    ) as svc:
        ADDONS[svc.url] = svc
        yield svc
        ADDONS.pop(svc.url, None)


def entry_data(addon: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": addon.url,
        "token": TOKEN,
        "instance_id": addon.instance_id,
        "grid_import_entity": GRID_IMPORT,
        "grid_export_entity": GRID_EXPORT,
        "grid_power_entity": GRID_POWER,
        "solar_entities": [SOLAR],
        "meter_entities": [WASHER],
        "max_import_w": 11000,
        "max_export_w": 7000,
        "price_kind": "tou",
        "import_price": 0.20,
        "peak_price": 0.40,
        "peak_start": "17:00:00",
        "peak_end": "21:00:00",
        "export_price": 0.08,
        "price_entity": None,
        "export_price_entity": None,
    }
    data.update(overrides)
    return data


SUBENTRIES: list[ConfigSubentryData] = [
    ConfigSubentryData(
        data={
            "name": "Garage battery",
            "capacity_kwh": 10.0,
            "max_charge_w": 5000,
            "max_discharge_w": 5000,
            "min_soc_pct": 10,
            "max_soc_pct": 100,
            "efficiency": 0.95,
            "energy_in_entity": BATTERY_IN,
            "energy_out_entity": BATTERY_OUT,
            "battery_mode": "auto",
        },
        subentry_id="battery1",
        subentry_type="battery",
        title="Garage battery",
        unique_id=None,
    ),
    ConfigSubentryData(
        data={
            "name": "Car",
            "battery_kwh": 60,
            "phases": "3",
            "voltage_v": 230,
            "min_current_a": 6,
            "max_current_a": 16,
            "departure": "07:30:00",
            "target_soc_pct": 80,
        },
        subentry_id="ev1",
        subentry_type="ev",
        title="Car",
        unique_id=None,
    ),
    ConfigSubentryData(
        data={
            "name": "Dishwasher",
            "power_w": 2000,
            "duration_min": 120,
            "finish_by": "07:00:00",
            "smart_start": True,
        },
        subentry_id="dishwasher1",
        subentry_type="appliance",
        title="Dishwasher",
        unique_id=None,
    ),
    ConfigSubentryData(
        data={
            "name": "Water heater",
            "thermal_kind": "water_heater",
            "power_w": 3000,
            "min_temp_c": 45,
            "max_temp_c": 60,
        },
        subentry_id="boiler1",
        subentry_type="thermal_load",
        title="Water heater",
        unique_id=None,
    ),
]


def make_entry(addon: Any, *, subentries: bool = True, **overrides: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="SHEMS",
        unique_id=addon.instance_id,
        data=entry_data(addon, **overrides),
        options={"optimization_interval_min": 15, "mode": "cost"},
        subentries_data=SUBENTRIES if subentries else None,
        minor_version=2,
    )


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, home: None, addon: Any) -> AsyncIterator[MockConfigEntry]:
    """A SHEMS entry with one asset of each kind, set up against the running add-on."""
    entry = make_entry(addon)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # Settle: the stream is connected and the refresh it triggers is done.
    await wait_for(lambda: entry.runtime_data.coordinator.stream_connected)
    await hass.async_block_till_done()
    yield entry
    if entry.state.recoverable:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def wait_for(predicate: Any, limit_s: float = 10.0) -> None:
    """Let the loop run (add-on, stream, HA) until ``predicate()`` holds; fail after ``limit_s`` s."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def optimized(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Press 'optimize now' and return the plan document the add-on serves once it is settled."""
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.shems_optimize_now"}, blocking=True
    )
    await hass.async_block_till_done()
    return await settled_plan(hass, entry)


async def settled_plan(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """The add-on's plan once it has stopped re-planning (a re-plan it had queued, e.g. for the site
    just pushed, would otherwise land after this returns), and once Home Assistant holds that plan."""
    in_force = await ADDONS[entry.data["url"]].quiet()
    assert in_force is not None
    plan = await entry.runtime_data.client.request("GET", "/plan")
    assert isinstance(plan, dict) and plan["id"] == in_force["id"]
    coordinator = entry.runtime_data.coordinator

    def held() -> bool:
        current = coordinator.data.plan
        return (
            current is not None
            and current.plan_id == plan["id"]
            and current.cost_next_7d == plan.get("cost_next_7d")
        )

    await wait_for(held)
    await hass.async_block_till_done()
    return plan


async def publish_until(client: Any, topic: str, payload: dict[str, Any], predicate: Any) -> None:
    """Publish like a real meter does (every 0.2 s) until ``predicate()`` holds.

    The add-on subscribes to a newly registered device's topic asynchronously; a meter that reports
    periodically is seen from its next report on, which is what this reproduces.
    """
    import asyncio
    import json

    for _ in range(100):
        client.publish(topic, json.dumps(payload), qos=1)
        for _ in range(10):
            if predicate():
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"no reading on {topic} reached Home Assistant")
