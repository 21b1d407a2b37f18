"""Services with answers, against the real add-on; every validation error is translated."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.const import DOMAIN

from .conftest import make_entry, settled_plan


async def call(hass: HomeAssistant, service: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data or {}, blocking=True, return_response=kwargs.pop("return_response", True)
    )


def device_id(hass: HomeAssistant, entry: MockConfigEntry, suffix: str) -> str:
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_{suffix}")})
    assert device is not None
    return device.id


async def test_optimize_returns_the_plan_and_updates_entities(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await settled_plan(hass, loaded_entry)  # no re-plan of the add-on's own may land in between
    plan = await call(hass, "optimize")
    assert plan["status"] == "optimal"
    assert len(plan["steps"]) >= 96
    assert loaded_entry.runtime_data.coordinator.data.plan.plan_id == plan["id"]
    same = await call(hass, "get_plan", {"config_entry_id": loaded_entry.entry_id})
    assert same["id"] == plan["id"]
    # Without a response the call still re-plans.
    assert await call(hass, "optimize", return_response=False) is None


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        (
            "schedule_appliance",
            {"appliance": "Car", "finish_by": "2099-01-01T00:00:00+00:00"},
            "not_an_appliance",
        ),
        (
            "schedule_appliance",
            {"appliance": "Dishwasher", "finish_by": "2001-01-01T00:00:00+00:00"},
            "finish_by_in_past",
        ),
        (
            "get_consumption",
            {"start": "2026-01-02T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"},
            "end_before_start",
        ),
        (
            "get_consumption",
            {"start": "2024-01-01T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"},
            "span_too_long",
        ),
        (
            "get_consumption",
            {
                "start": "2026-01-01T00:00:00+00:00",
                "end": "2026-01-02T00:00:00+00:00",
                "device": "no-such-device",
            },
            "not_a_meter",
        ),
        ("send_command", {"device": "no-such-device", "command": "on"}, "not_a_meter"),
        ("get_plan", {"config_entry_id": "nope"}, "entry_not_found"),
    ],
    ids=["not_appliance", "past", "end_before_start", "span", "unknown_meter", "command_unknown", "entry"],
)
async def test_validation_errors(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, service: str, data: dict[str, Any], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data)
    assert err.value.translation_key == key
    assert err.value.translation_domain == DOMAIN


async def test_entry_must_be_loaded_and_unambiguous(hass: HomeAssistant, home: None, addon: Any) -> None:
    from custom_components.shems import async_setup  # noqa: F401  (services exist once the domain is set up)

    first = make_entry(addon, subentries=False)
    first.add_to_hass(hass)
    assert await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(first.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "get_plan")
    assert err.value.translation_key == "entry_required"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "get_plan", {"config_entry_id": first.entry_id})
    assert err.value.translation_key == "entry_not_loaded"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "schedule_appliance", {"appliance": "Dishwasher", "finish_by": "2099-01-01T00:00:00"}
        )
    assert err.value.translation_key == "entry_required"


async def test_addon_failures_become_translated_errors(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, addon: Any
) -> None:
    await addon.stop()
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "get_plan")
    assert err.value.translation_key == "cannot_connect"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.shems_optimize_now"}, blocking=True
        )
    assert err.value.translation_key == "optimize_failed"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": "select.garage_battery_mode", "option": "off"},
            blocking=True,
        )
    assert err.value.translation_key == "push_failed"
    await addon.start()
    # The change was kept and reaches the add-on with the next successful poll.
    await loaded_entry.runtime_data.coordinator.async_refresh()
    site = await loaded_entry.runtime_data.client.request("GET", "/site")
    assert site["batteries"][0]["mode"] == "off"


async def test_schedule_appliance_returns_the_chosen_start(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    finish_by = dt_util.now().replace(microsecond=0) + timedelta(hours=20)
    answer = await call(
        hass,
        "schedule_appliance",
        {"appliance": device_id(hass, loaded_entry, "dishwasher1"), "finish_by": finish_by.isoformat()},
    )
    start = dt_util.parse_datetime(answer["planned_start"])
    end = dt_util.parse_datetime(answer["planned_end"])
    assert start is not None and end is not None
    assert dt_util.utcnow() - timedelta(minutes=15) <= start
    assert end <= finish_by
    assert end - start == timedelta(minutes=120)


async def test_get_consumption_for_the_home_and_for_a_meter(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    end = dt_util.start_of_local_day()
    start = end - timedelta(days=2)
    window = {"start": start.isoformat(), "end": end.isoformat(), "granularity": "day"}
    answer = await call(hass, "get_consumption", window)
    # Nothing has been metered in this fresh store: an empty series and zero total, for the asked window.
    assert (answer["device"], answer["granularity"], answer["total_kwh"], answer["series"]) == (
        None,
        "day",
        0,
        [],
    )
    assert dt_util.parse_datetime(answer["start"]) == start
    await loaded_entry.runtime_data.client.request(
        "POST", "/devices", payload={"device_id": "washer", "name": "Washer", "type": "appliance"}
    )
    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    washer = device_id(hass, loaded_entry, "meter_washer")
    answer = await call(hass, "get_consumption", window | {"device": washer})
    assert (answer["device"], answer["total_kwh"], answer["series"]) == ("washer", 0, [])


async def test_get_forecast_and_recommendations(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    plan = await call(hass, "optimize")
    price = await call(hass, "get_forecast", {"kind": "price", "horizon": "24h"})
    assert (price["kind"], price["granularity"], price["unit"]) == ("price", "hour", "EUR/kWh")
    assert len(price["points"]) == 24
    for point in price["points"]:
        # The entry's time-of-use tariff: 0.40 from 17:00 to 21:00 local time, 0.20 otherwise.
        hour = dt_util.as_local(dt_util.parse_datetime(point["start"])).hour
        assert point["value"] == pytest.approx(0.40 if 17 <= hour < 21 else 0.20), point
    pv = await call(hass, "get_forecast", {"kind": "pv", "horizon": "7d"})
    assert (pv["kind"], len(pv["points"])) == ("pv", 7 * 24)
    recommendations = await call(hass, "get_recommendations")
    assert recommendations["plan_id"] == plan["id"]
    by_id = {item["id"]: item for item in recommendations["recommendations"]}
    run = next(a for a in plan["appliances"] if a["id"] == "dishwasher1")
    assert dt_util.parse_datetime(by_id["run-dishwasher1"]["start"]) == dt_util.parse_datetime(
        run["planned_start"]
    )
