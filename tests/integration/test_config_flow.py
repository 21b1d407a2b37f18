"""Config flow: manual and discovered set-up, every error and abort, reauth, reconfigure, options."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from homeassistant.components.energy.data import async_get_manager
from homeassistant.config_entries import SOURCE_HASSIO, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.const import DOMAIN

from .conftest import (
    BATTERY_IN,
    BATTERY_OUT,
    GRID_EXPORT,
    GRID_IMPORT,
    GRID_POWER,
    PRICE,
    SOLAR,
    TOKEN,
    WASHER,
    make_entry,
)

pytestmark = pytest.mark.usefixtures("home")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def energy_dashboard(hass: HomeAssistant) -> None:
    """The user's Energy dashboard: grid in/out with a price entity, solar, a battery, one device."""
    manager = await async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": GRID_IMPORT,
                            "stat_cost": None,
                            "entity_energy_price": PRICE,
                            "number_energy_price": None,
                        }
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": GRID_EXPORT,
                            "stat_compensation": None,
                            "entity_energy_price": None,
                            "number_energy_price": 0.08,
                        }
                    ],
                    "cost_adjustment_day": 0,
                },
                {"type": "solar", "stat_energy_from": SOLAR, "config_entry_solar_forecast": None},
                {"type": "battery", "stat_energy_from": BATTERY_OUT, "stat_energy_to": BATTERY_IN},
            ],
            "device_consumption": [{"stat_consumption": WASHER, "name": "Washer"}],
        }
    )


def suggested(result: Any, key: str) -> Any:
    for marker in result["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


async def test_manual_setup_prefilled_from_the_energy_dashboard(hass: HomeAssistant, addon: Any) -> None:
    await energy_dashboard(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": addon.url, "token": TOKEN}
    )
    assert result["step_id"] == "home"
    # Confirm instead of typing: the Energy dashboard's meters are offered.
    assert suggested(result, "grid_import_entity") == GRID_IMPORT
    assert suggested(result, "grid_export_entity") == GRID_EXPORT
    assert suggested(result, "solar_entities") == [SOLAR]
    assert suggested(result, "meter_entities") == [WASHER]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "grid_import_entity": GRID_IMPORT,
            "grid_export_entity": GRID_EXPORT,
            "solar_entities": [SOLAR],
            "meter_entities": [WASHER],
        },
    )
    assert result["step_id"] == "price"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"price_kind": "entity"})
    assert result["step_id"] == "price_entity"
    assert suggested(result, "price_entity") == PRICE
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"price_entity": PRICE})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == addon.instance_id
    assert entry.data["url"] == addon.url
    assert entry.data["price_entity"] == PRICE
    assert entry.data["solar_entities"] == [SOLAR]
    await hass.async_block_till_done()
    site = await entry.runtime_data.client.request("GET", "/site")
    assert site["price"] == {"kind": "entity", "entity_id": PRICE} | {
        k: v for k, v in site["price"].items() if k not in ("kind", "entity_id")
    }
    assert site["meters"][0]["entity_id"] == WASHER
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("url_of", "token", "error"),
    [
        (lambda addon: f"http://127.0.0.1:{closed_port()}", TOKEN, {"base": "cannot_connect"}),
        (lambda addon: addon.url, "wrong-token", {"base": "invalid_auth"}),
        (lambda addon: f"{addon.url}/not-shems", TOKEN, {"base": "invalid_response"}),
        (lambda addon: "ftp://127.0.0.1", TOKEN, {"url": "invalid_url"}),
    ],
    ids=["cannot_connect", "invalid_auth", "invalid_response", "invalid_url"],
)
async def test_manual_setup_errors_then_recovers(
    hass: HomeAssistant, addon: Any, url_of: Any, token: str, error: dict[str, str]
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": url_of(addon), "token": token}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == error
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": addon.url, "token": TOKEN}
    )
    assert result["step_id"] == "home"


async def test_same_instance_is_configured_once_and_its_address_updated(
    hass: HomeAssistant, addon: Any
) -> None:
    entry = make_entry(addon, subentries=False, url="http://127.0.0.1:1")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": f"{addon.url}/", "token": TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert entry.data["url"] == addon.url


def discovery(addon: Any, **config: Any) -> HassioServiceInfo:
    port = int(addon.url.rsplit(":", 1)[1])
    return HassioServiceInfo(
        config={"host": "127.0.0.1", "port": port, "token": TOKEN} | config,
        name="SHEMS",
        slug="local_shems",
        uuid="5e0f1d8a3c2b4f6e8a9b7c6d5e4f3a2b",
    )


async def test_discovered_addon_is_confirmed_then_set_up(hass: HomeAssistant, addon: Any) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=discovery(addon)
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "hassio_confirm"
    assert result["description_placeholders"] == {"addon": "SHEMS"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "home"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"grid_import_entity": GRID_IMPORT, "grid_power_entity": GRID_POWER}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"price_kind": "fixed"})
    assert result["step_id"] == "price_fixed"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"import_price": 0.3, "export_price": 0.07}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == addon.instance_id
    assert entry.data["url"] == addon.url
    await hass.async_block_till_done()
    site = await entry.runtime_data.client.request("GET", "/site")
    assert site["price"]["kind"] == "fixed"
    assert site["price"]["import_per_kwh"] == pytest.approx(0.3)
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("config", "reason"),
    [({"host": None}, "invalid_discovery_info"), ({"token": "stale"}, "invalid_auth")],
    ids=["no_host", "bad_token"],
)
async def test_discovery_aborts(hass: HomeAssistant, addon: Any, config: dict[str, Any], reason: str) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=discovery(addon, **config)
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == reason


async def test_discovery_of_a_stopped_addon_aborts(hass: HomeAssistant, addon: Any) -> None:
    info = discovery(addon)
    await addon.stop()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_HASSIO}, data=info)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "cannot_connect"


async def test_rediscovery_updates_the_known_entry(hass: HomeAssistant, addon: Any) -> None:
    entry = make_entry(addon, subentries=False, url="http://old-hostname:8099", token="old")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=discovery(addon)
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert entry.data["url"] == addon.url
    assert entry.data["token"] == TOKEN


async def start_home_step(hass: HomeAssistant, addon: Any) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": addon.url, "token": TOKEN}
    )


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"grid_import_entity": GRID_POWER}, {"grid_import_entity": "not_energy_sensor"}),
        ({"grid_import_entity": "sensor.missing"}, {"grid_import_entity": "entity_not_found"}),
        (
            {"grid_import_entity": GRID_IMPORT, "solar_entities": [GRID_POWER]},
            {"solar_entities": "not_energy_sensor"},
        ),
        (
            {"grid_import_entity": GRID_IMPORT, "grid_power_entity": SOLAR},
            {"grid_power_entity": "not_power_sensor"},
        ),
    ],
    ids=["power_as_energy", "missing", "solar_power", "energy_as_power"],
)
async def test_home_step_refuses_wrong_sensors(
    hass: HomeAssistant, addon: Any, user_input: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await start_home_step(hass, addon)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["step_id"] == "home"
    assert result["errors"] == errors


async def goto_price(hass: HomeAssistant, addon: Any, kind: str) -> dict[str, Any]:
    result = await start_home_step(hass, addon)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"grid_import_entity": GRID_IMPORT}
    )
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"price_kind": kind})


async def test_price_entity_without_forecast_is_refused(hass: HomeAssistant, addon: Any) -> None:
    hass.states.async_set("sensor.flat_price", "0.3", {"unit_of_measurement": "EUR/kWh"})
    hass.states.async_set("sensor.no_price", "unavailable", {})
    result = await goto_price(hass, addon, "entity")
    for entity_id in ("sensor.flat_price", "sensor.no_price", "sensor.does_not_exist"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"price_entity": entity_id}
        )
        assert result["errors"] == {"price_entity": "invalid_price_entity"}
        assert entity_id in result["description_placeholders"]["problem"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"price_entity": PRICE, "export_price_entity": "sensor.flat_price"}
    )
    assert result["errors"] == {"export_price_entity": "invalid_price_entity"}


async def test_time_of_use_tariff(hass: HomeAssistant, addon: Any) -> None:
    result = await goto_price(hass, addon, "tou")
    assert result["step_id"] == "price_tou"
    tariff = {"import_price": 0.2, "peak_price": 0.4, "peak_start": "17:00:00", "peak_end": "17:00:00"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], tariff)
    assert result["errors"] == {"peak_end": "empty_peak_period"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], tariff | {"peak_end": "21:00:00"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    site = await entry.runtime_data.client.request("GET", "/site")
    periods = {(p["start"], p["end"]): p["import_per_kwh"] for p in site["price"]["periods"]}
    assert periods == {("17:00", "21:00"): pytest.approx(0.4), ("21:00", "17:00"): pytest.approx(0.2)}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth_with_a_new_token(hass: HomeAssistant, addon: Any) -> None:
    entry = make_entry(addon, subentries=False, token="revoked")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    flow_id = flows[0]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {"token": "still-wrong"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"token": TOKEN})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_successful"
    assert entry.data["token"] == TOKEN
    await hass.async_block_till_done()
    assert entry.state.name == "LOADED"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_checks_the_address_and_reviews_the_home(
    hass: HomeAssistant, loaded_entry: Any, addon: Any
) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": f"http://127.0.0.1:{closed_port()}", "token": TOKEN}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": f" {addon.url}/ ", "token": TOKEN}
    )
    assert result["step_id"] == "home"
    assert suggested(result, "grid_import_entity") == GRID_IMPORT
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"grid_import_entity": GRID_IMPORT, "solar_entities": []}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"price_kind": "fixed"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"import_price": 0.33})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    assert loaded_entry.data["url"] == addon.url
    assert loaded_entry.data["import_price"] == 0.33
    await hass.async_block_till_done()
    site = await loaded_entry.runtime_data.client.request("GET", "/site")
    assert site["price"]["import_per_kwh"] == pytest.approx(0.33)
    assert site["solar"] == []


async def test_reconfigure_refuses_another_instance(
    hass: HomeAssistant, loaded_entry: Any, tmp_path: Any
) -> None:
    from shems_optimizer.wiring.testing import running_service

    async with running_service(tmp_path / "other", token=TOKEN) as other:
        result = await loaded_entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"url": other.url, "token": TOKEN}
        )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "wrong_instance"


async def test_options_are_pushed_to_the_addon(hass: HomeAssistant, loaded_entry: Any) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"optimization_interval_min": 30, "mode": "self_consumption"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    site = await loaded_entry.runtime_data.client.request("GET", "/site")
    assert site["optimization_interval_min"] == 30
    assert site["mode"] == "self_consumption"


async def test_discovery_of_something_that_is_not_shems_aborts(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Another service on the announced port (here: a bare web server answering 404) is not taken."""
    from aiohttp import web

    runner = web.AppRunner(web.Application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        info = HassioServiceInfo(
            config={"host": "127.0.0.1", "port": port}, name="Other", slug="other", uuid="0" * 32
        )
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_HASSIO}, data=info
        )
    finally:
        await runner.cleanup()
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "invalid_response"


async def test_reauth_refuses_another_instance(hass: HomeAssistant, addon: Any) -> None:
    data = dict(make_entry(addon, subentries=False, token="revoked").data)
    entry = MockConfigEntry(domain=DOMAIN, unique_id="some-other-instance", data=data, title="SHEMS")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    flow_id = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {"token": TOKEN})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "wrong_instance"
