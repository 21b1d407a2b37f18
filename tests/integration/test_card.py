"""The plan card: its script is served and added to every dashboard, and its WebSocket command gives
one home's next hours (the plan by names, appliance runs, goals) and what the recorder measured."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.card import CARD_FILE, card_url, measured_power

from .conftest import optimized


def epoch(text: str) -> float:
    moment = dt_util.parse_datetime(text)
    assert moment is not None
    return moment.timestamp()


async def test_the_card_script_is_served_and_loaded_by_every_dashboard(
    hass: HomeAssistant, hass_client: Any, loaded_entry: MockConfigEntry
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    # The integration was set up before the frontend here; a fresh Home Assistant loads it after.
    from custom_components.shems.card import async_setup_card

    await async_setup_card(hass)
    content = CARD_FILE.read_bytes()
    assert card_url(content) in hass.data[DATA_EXTRA_MODULE_URL].urls
    client = await hass_client()
    response = await client.get(card_url(content))
    assert response.status == 200
    assert await response.read() == content
    assert b"shems-plan-card" in content and b"shems-plan-card-editor" in content


async def test_the_card_gets_the_plan_by_names(
    hass: HomeAssistant, hass_ws_client: Any, loaded_entry: MockConfigEntry
) -> None:
    plan = await optimized(hass, loaded_entry)
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "shems/card", "hours": 24, "hours_past": 2})
    answer = await ws.receive_json()
    assert answer["success"], answer
    view = answer["result"]
    assert view["entries"] == [{"entry_id": loaded_entry.entry_id, "title": "SHEMS"}]
    assert view["entry_id"] == loaded_entry.entry_id
    assert view["currency"] == "EUR"
    assert view["end"] - view["now"] == pytest.approx(24 * 3600)
    assert view["now"] - view["start"] == pytest.approx(2 * 3600)
    assert view["watch"] == "sensor.shems_last_plan"
    assert hass.states.get(view["watch"]) is not None

    shown = view["plan"]
    steps = shown["steps"]
    in_window = [
        s for s in plan["steps"] if view["start"] < epoch(s["end"]) and epoch(s["start"]) < view["end"]
    ]
    assert steps["time"] == [epoch(s["start"]) for s in in_window]
    assert shown["step_end"] == epoch(in_window[-1]["end"])
    assert steps["import_price"] == [s["import_price"] for s in in_window]
    assert steps["grid_w"] == pytest.approx([s["grid_import_w"] - s["grid_export_w"] for s in in_window])
    # Assets by the names people gave (never by id), appliances as runs rather than curves.
    assets = {asset["name"]: asset for asset in shown["assets"]}
    assert set(assets) == {"Garage battery", "Car", "Water heater"}
    assert assets["Garage battery"]["kind"] == "battery"
    assert assets["Garage battery"]["soc_pct"] == [s["assets"]["battery1"]["soc_pct"] for s in in_window]
    assert assets["Car"]["power_w"] == [s["assets"]["ev1"]["power_w"] for s in in_window]
    assert "soc_pct" not in assets["Water heater"]
    runs = {run["id"]: run for run in plan["appliances"]}
    planned = runs["dishwasher1"]
    assert shown["appliances"] == [
        {"name": "Dishwasher", "start": epoch(planned["planned_start"]), "end": epoch(planned["planned_end"])}
    ]
    assert shown["goals"] == [goal["message"] for goal in plan.get("unmet_goals", []) if goal.get("message")]
    assert shown["status"] == plan["status"]
    # Without the recorder nothing was measured; the card draws the plan alone.
    assert view["measured"] == {
        "power": {"time": [], "grid_w": [], "pv_w": [], "battery_w": [], "load_w": []},
        "soc": [],
    }
    # A renamed asset shows under its new name at once.
    sub = loaded_entry.subentries["dishwasher1"]
    hass.config_entries.async_update_subentry(loaded_entry, sub, title="Dish washer")
    await ws.send_json_auto_id({"type": "shems/card", "entry_id": loaded_entry.entry_id})
    renamed = (await ws.receive_json())["result"]
    assert [run["name"] for run in renamed["plan"]["appliances"]] == ["Dish washer"]


async def test_the_card_without_a_home_offers_the_entries(
    hass: HomeAssistant, hass_ws_client: Any, loaded_entry: MockConfigEntry
) -> None:
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "shems/card", "entry_id": "not-an-entry"})
    view = (await ws.receive_json())["result"]
    assert view == {"entries": [{"entry_id": loaded_entry.entry_id, "title": "SHEMS"}], "entry_id": None}
    await ws.send_json_auto_id({"type": "shems/card", "hours": 0})
    refused = await ws.receive_json()
    assert not refused["success"] and refused["error"]["code"] == "invalid_format"


def test_measured_power_balances_the_home() -> None:
    """Energy per 5 minutes (kWh) becomes average power (W); the home's load is what balances the
    grid, the PV and the battery; a meter missing a period counts as nothing flowing."""
    start = 1_780_000_000.0
    rows = {
        "imp": [{"start": start, "change": 0.1}, {"start": start + 300, "change": 0.0}],
        "exp": [{"start": start, "change": 0.0}, {"start": start + 300, "change": 0.05}],
        "pv1": [{"start": start, "change": 0.02}, {"start": start + 300, "change": 0.1}],
        "pv2": [{"start": start + 300, "change": 0.05}],
        "in": [{"start": start, "change": 0.01}, {"start": start + 300, "change": None}],
        "out": [],
    }
    sources = {
        "import": ["imp"],
        "export": ["exp"],
        "pv": ["pv1", "pv2"],
        "charge": ["in"],
        "discharge": ["out"],
    }
    power = measured_power(rows, sources)
    assert power["time"] == [start, start + 300]
    assert power["grid_w"] == [1200.0, -600.0]
    assert power["pv_w"] == [240.0, 1800.0]
    assert power["battery_w"] == [-120.0, 0.0]
    assert power["load_w"] == [1320.0, 1200.0]
    no_battery = measured_power(rows, {**sources, "charge": [], "discharge": []})
    assert no_battery["battery_w"] == [None, None]
    assert no_battery["load_w"] == [1440.0, 1200.0]
