"""The whole-home journey: a new user sets SHEMS up in a real Home Assistant and the home runs.

Real parts only: ``hass`` with its frontend, the add-on as its own process (``addon/run.sh``) with
Mosquitto and its store, headless Chromium. Each test is one phase of the journey and builds on the ones
before it (they run in file order and share the module's ``journey``): Energy dashboard, the config flow
with a wrong token and a wrong sensor, the assets added one after another (a kW value in a W field, two
appliances back to back), then what the user sees: every entity meaningful, services and voice that
answer, pages without internal ids, and logs without a SHEMS error.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from .browser import Browser
from .conftest import Journey
from .ha_client import HomeAssistantApi
from .home_config import PRICES_TODAY, TIME_ZONE
from .ingress import ingress_proxy
from .processes import until
from .screens import Screen, capture, hass_tokens, internal_ids_in, slug

ENTITY_BOUND_S = 120.0  # every entity meaningful within this long after the last asset was added
PRICE = "sensor.nord_pool_de_lu"
FEED_IN = 0.08

BATTERY = {
    "name": "Home battery",
    "capacity_kwh": 10.0,
    "max_charge_w": 5000,
    "max_discharge_w": 5000,
    "min_soc_pct": 10,
    "max_soc_pct": 95,
    "efficiency": 0.92,
    "soc_entity": "sensor.battery_level",
}
EV = {
    "name": "Family car",
    "battery_kwh": 58.0,
    "max_charge_w": 11000,
    "min_charge_w": 4200,
    "departure": "07:30:00",
    "target_soc_pct": 80,
    "soc_entity": "sensor.car_battery",
    "charger_entity": "input_boolean.wallbox_charging",
}
DISHWASHER = {
    "name": "Dishwasher",
    "power_w": 1900,
    "duration_min": 150,
    "finish_by": "07:00:00",
    "switch_entity": "input_boolean.dishwasher_plug",
}
WASHER = {
    "name": "Washing machine",
    "power_w": 2100,
    "duration_min": 120,
    "finish_by": "18:00:00",
    "switch_entity": "input_boolean.washer_plug",
}


def _suggested(form: dict[str, Any]) -> dict[str, Any]:
    """The values a form shows pre-filled, as the frontend fills them in."""
    values: dict[str, Any] = {}
    for field in form["data_schema"]:
        description = field.get("description") or {}
        if "suggested_value" in description:
            values[field["name"]] = description["suggested_value"]
        elif "default" in field:
            values[field["name"]] = field["default"]
    return values


async def test_energy_dashboard_is_set_up(journey: Journey, ha: HomeAssistantApi) -> None:
    """The owner fills in the Energy dashboard first, as Home Assistant suggests after onboarding."""
    with journey.phase("energy prefs"):
        await until(
            lambda: _numeric_states(ha, "sensor.grid_import", PRICE, "sensor.battery_level"),
            timeout_s=60,
            what="the home's template sensors",
        )
        await ha.ws(
            "energy/save_prefs",
            energy_sources=[
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": "sensor.grid_import",
                            "stat_cost": None,
                            "entity_energy_price": PRICE,
                            "number_energy_price": None,
                        }
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": "sensor.grid_export",
                            "stat_compensation": None,
                            "entity_energy_price": None,
                            "number_energy_price": FEED_IN,
                        }
                    ],
                    "power": [{"stat_rate": "sensor.grid_power"}],
                    "cost_adjustment_day": 0,
                },
                {"type": "solar", "stat_energy_from": "sensor.solar_energy", "stat_rate": "sensor.solar_power"},
                {
                    "type": "battery",
                    "stat_energy_from": "sensor.battery_discharged",
                    "stat_energy_to": "sensor.battery_charged",
                },
            ],
            device_consumption=[],
        )
        prefs = await ha.ws("energy/get_prefs")
    assert [source["type"] for source in prefs["energy_sources"]] == ["grid", "solar", "battery"]


async def _numeric_states(ha: HomeAssistantApi, *entity_ids: str) -> bool:
    states = await ha.states()
    for entity_id in entity_ids:
        try:
            float(states[entity_id]["state"])
        except (KeyError, ValueError):
            return False
    return True


async def test_config_flow_as_a_new_user(journey: Journey, ha: HomeAssistantApi) -> None:
    """Add the integration: a mistyped token and a power sensor picked as an energy meter are refused
    with a form error; the home and its prices come pre-filled from the Energy dashboard."""
    assert journey.addon is not None
    with journey.phase("config flow"):
        form = await ha.flow_start("shems")
        assert form["type"] == "form" and form["step_id"] == "user", form
        flow_id = form["flow_id"]

        wrong = await ha.flow_step(flow_id, {"url": journey.addon.url, "token": "not-the-token"})
        assert wrong["type"] == "form" and wrong["errors"] == {"base": "invalid_auth"}, wrong

        home = await ha.flow_step(flow_id, {"url": journey.addon.url, "token": journey.addon.token})
        assert home["type"] == "form" and home["step_id"] == "home", home
        prefill = _suggested(home)
        assert prefill["grid_import_entity"] == "sensor.grid_import"
        assert prefill["grid_export_entity"] == "sensor.grid_export"
        assert prefill["grid_power_entity"] == "sensor.grid_power"
        assert prefill["solar_entities"] == ["sensor.solar_energy"]

        mistake = await ha.flow_step(flow_id, {**prefill, "grid_import_entity": "sensor.grid_power"})
        assert mistake["type"] == "form" and mistake["errors"] == {"grid_import_entity": "not_energy_sensor"}

        price = await ha.flow_step(flow_id, {**prefill, "max_import_w": 17250})
        assert price["type"] == "form" and price["step_id"] == "price", price
        entity_form = await ha.flow_step(flow_id, {"price_kind": "entity"})
        assert entity_form["step_id"] == "price_entity", entity_form
        price_prefill = _suggested(entity_form)
        assert price_prefill.get("price_entity") == PRICE
        done = await ha.flow_step(flow_id, price_prefill)
        assert done["type"] == "create_entry", done
        journey.entry_id = done["result"]["entry_id"]

        async def loaded() -> bool:
            entries = await ha.get("/api/config/config_entries/entry?domain=shems")
            return bool(entries) and entries[0]["state"] == "loaded"

        await until(loaded, timeout_s=60, what="the SHEMS entry loaded")


async def _add_asset(ha: HomeAssistantApi, entry_id: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    form = await ha.subentry_start(entry_id, kind)
    assert form["type"] == "form" and form["step_id"] == "user", form
    return await ha.subentry_step(form["flow_id"], data)


async def test_assets_are_added_one_after_another(journey: Journey, ha: HomeAssistantApi) -> None:
    """Battery (first typed in kW), EV, then dishwasher and washing machine sent back to back."""
    entry_id = journey.entry_id
    assert entry_id, "the config flow did not create the entry"
    with journey.phase("subentry flows"):
        form = await ha.subentry_start(entry_id, "battery")
        prefill = _suggested(form)
        assert prefill.get("energy_in_entity") == "sensor.battery_charged", prefill
        assert prefill.get("energy_out_entity") == "sensor.battery_discharged", prefill
        kw = await ha.subentry_step(form["flow_id"], {**prefill, **BATTERY, "max_charge_w": 5})
        assert kw["type"] == "form" and kw["errors"] == {"max_charge_w": "watts_look_like_kw"}, kw
        battery = await ha.subentry_step(form["flow_id"], {**prefill, **BATTERY})
        assert battery["type"] == "create_entry", battery

        ev = await _add_asset(ha, entry_id, "ev", EV)
        assert ev["type"] == "create_entry", ev

        # Two appliances, the second sent while the first is still being set up.
        dishwasher_form = await ha.subentry_start(entry_id, "appliance")
        washer_form = await ha.subentry_start(entry_id, "appliance")
        results = await asyncio.gather(
            ha.subentry_step(dishwasher_form["flow_id"], DISHWASHER),
            ha.subentry_step(washer_form["flow_id"], WASHER),
        )
        assert [result["type"] for result in results] == ["create_entry", "create_entry"], results

        subentries = await ha.ws("config_entries/subentries/list", entry_id=entry_id)
        journey.subentries = {sub["title"]: sub["subentry_id"] for sub in subentries}
    assert set(journey.subentries) == {"Home battery", "Family car", "Dishwasher", "Washing machine"}


async def _shems_entities(ha: HomeAssistantApi) -> list[dict[str, Any]]:
    return [
        entity
        for entity in await ha.ws("config/entity_registry/list")
        if entity["platform"] == "shems" and entity["disabled_by"] is None
    ]


# Entities whose value the journey cannot expect yet, and why.
NOT_YET_KNOWABLE = {
    # A button's state is the time it was last pressed: unknown until the user presses it.
    "button.shems_optimize_now": "never pressed",
}
# Checks of defects being fixed (issue 11), kept apart so the rest of the journey stays green; each is
# expected to fail until its fix lands (then pytest reports XPASS and the mark goes).
LOST_SECOND_APPLIANCE = "issue 11 defect 2: the second of two appliances added back to back is lost"
COST_UNKNOWN_DAY_ONE = "issue 11 defect 9: cost and savings stay unknown all of day one"
AWAITING_FIXES = {
    "sensor.washing_machine_planned_start": LOST_SECOND_APPLIANCE,
    "sensor.shems_savings_today": COST_UNKNOWN_DAY_ONE,
    "sensor.shems_savings_this_month": COST_UNKNOWN_DAY_ONE,
    "sensor.grid_cost_today": COST_UNKNOWN_DAY_ONE,
    "sensor.grid_cost_this_month": COST_UNKNOWN_DAY_ONE,
}


async def _unknown_entities(ha: HomeAssistantApi) -> tuple[list[str], list[str]]:
    """(every enabled SHEMS entity, those still unknown or unavailable)."""
    states = await ha.states()
    entities = [entity["entity_id"] for entity in await _shems_entities(ha)]
    missing = [
        entity_id
        for entity_id in entities
        if states.get(entity_id, {}).get("state", "unknown") in ("unknown", "unavailable")
    ]
    return entities, missing


async def test_every_entity_becomes_meaningful(journey: Journey, ha: HomeAssistantApi) -> None:
    """Within a bound every SHEMS entity has a value: none stays unknown or unavailable."""
    with journey.phase("entities meaningful"):

        async def all_known() -> list[str] | None:
            entities, missing = await _unknown_entities(ha)
            waiting = [e for e in missing if e not in NOT_YET_KNOWABLE and e not in AWAITING_FIXES]
            journey.notes["unknown entities"] = missing
            return entities if len(entities) > len(NOT_YET_KNOWABLE) and not waiting else None

        try:
            known = await until(all_known, timeout_s=ENTITY_BOUND_S, what="every SHEMS entity", interval_s=1)
        except AssertionError as err:
            raise AssertionError(f"still unknown: {journey.notes['unknown entities']}") from err
    devices = await ha.ws("config/device_registry/list")
    names = {
        device["name_by_user"] or device["name"]
        for device in devices
        if journey.entry_id in device["config_entries"]
    }
    assert {"Home battery", "Family car", "Dishwasher", "Washing machine"} <= names, names
    journey.notes["entities"] = known


@pytest.mark.xfail(reason=f"{LOST_SECOND_APPLIANCE}; {COST_UNKNOWN_DAY_ONE}", strict=False)
async def test_entities_awaiting_fixes_are_meaningful(journey: Journey, ha: HomeAssistantApi) -> None:
    """The entities of the defects above, given a short extra bound after all others were known."""

    async def known() -> bool:
        _, missing = await _unknown_entities(ha)
        journey.notes["unknown entities"] = missing
        return not [entity_id for entity_id in missing if entity_id in AWAITING_FIXES]

    try:
        await until(known, timeout_s=20, what="the entities awaiting fixes", interval_s=1)
    except AssertionError as err:
        raise AssertionError(f"still unknown: {journey.notes['unknown entities']}") from err


async def test_services_answer(journey: Journey, ha: HomeAssistantApi) -> None:
    """The plan and the price forecast come back as service responses, for the home's own assets."""
    with journey.phase("services"):
        answer = await ha.call_service("shems", "get_plan", {}, response=True)
        plan = answer["response"]
        assert plan["steps"], plan
        planned_assets = {asset for step in plan["steps"] for asset in step.get("assets", {})}
        assert set(journey.subentries.values()) <= planned_assets, planned_assets
        forecast = await ha.call_service(
            "shems", "get_forecast", {"kind": "price", "horizon": "24h"}, response=True
        )
    assert forecast["response"], forecast


def _expected_cheapest_today(now: datetime) -> tuple[str, float]:
    """The start ("now" or HH:MM) and price of the cheapest hour left today, from the sensor's prices."""
    local = now.astimezone(ZoneInfo(TIME_ZONE))
    left = PRICES_TODAY[local.hour :]
    hour = local.hour + left.index(min(left))
    return ("now" if hour == local.hour else f"{hour:02d}:00"), min(left)


async def test_voice_answers_and_schedules_the_dishwasher(journey: Journey, ha: HomeAssistantApi) -> None:
    """HA's own conversation agent, over its REST API: the cheapest time today, then a scheduled run."""
    with journey.phase("voice"):
        asked = datetime.now().astimezone()
        answer = await ha.post(
            "/api/conversation/process", {"text": "When is electricity cheapest today?", "language": "en"}
        )
        speech = answer["response"]["speech"]["plain"]["speech"]
        start, price = _expected_cheapest_today(asked)
        assert f"{price:.2f}" in speech and start in speech and "tomorrow" not in speech, speech

        scheduled = await ha.post(
            "/api/conversation/process",
            {"text": "Start the dishwasher at the cheapest time", "language": "en"},
        )
        said = scheduled["response"]["speech"]["plain"]["speech"]
    journey.notes["voice"] = [speech, said]
    assert said.startswith("The Dishwasher will start at"), said
    told = re.search(r"(\d\d:\d\d)", said)
    assert told, said
    plan = (await ha.call_service("shems", "get_plan", {}, response=True))["response"]
    runs = {run["id"]: run for run in plan.get("appliances", [])}
    run = runs.get(journey.subentries["Dishwasher"])
    assert run and run.get("planned_start"), plan.get("appliances")
    start_local = datetime.fromisoformat(run["planned_start"]).astimezone(ZoneInfo(TIME_ZONE))
    assert start_local.strftime("%H:%M") == told.group(1), (run, said)
    assert asked <= start_local + timedelta(minutes=15) <= asked + timedelta(days=2)


async def test_add_on_answers_with_its_token(journey: Journey) -> None:
    """The plain container's API: public health, everything else only with the token."""
    assert journey.addon is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{journey.addon.url}/api/v1/status") as resp:
            assert resp.status == 401
        headers = {"Authorization": f"Bearer {journey.addon.token}"}
        async with session.get(f"{journey.addon.url}/api/v1/status", headers=headers) as resp:
            assert resp.status == 200


async def test_pages_show_names_never_internal_ids(journey: Journey, ha: HomeAssistantApi) -> None:
    """The integration page, every SHEMS device page, the repairs page and the add-on's web UI (through
    an ingress-style path, and plainly with its token) render, are kept as screenshots, and show the
    names the user gave, never an internal id."""
    assert journey.addon is not None
    addon = journey.addon
    shots = journey.artifacts / "screenshots"
    devices = [
        device
        for device in await ha.ws("config/device_registry/list")
        if journey.entry_id in device["config_entries"]
    ]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{addon.url}/api/v1/health") as resp:
            instance_id = (await resp.json())["instance_id"]
    known_ids = [journey.entry_id, instance_id, *journey.subentries.values(), *(d["id"] for d in devices)]
    login = hass_tokens(journey.hass.url, journey.tokens)
    browser = Browser(journey.artifacts / "chromium-profile", journey.artifacts / "chromium.log")
    screens: list[Screen] = []
    with journey.phase("screenshots"):
        await browser.start()
        try:
            hass = journey.hass.url
            screens.append(
                await capture(
                    browser, shots, "integration", f"{hass}/config/integrations/integration/shems",
                    "Dishwasher", "Home battery", local_storage=login,
                )
            )  # fmt: skip
            for device in devices:
                name = device["name_by_user"] or device["name"]
                screens.append(
                    await capture(
                        browser, shots, f"device {name}", f"{hass}/config/devices/device/{device['id']}",
                        name, "Sensors", local_storage=login, height=1400,
                    )
                )  # fmt: skip
            screens.append(
                await capture(browser, shots, "repairs", f"{hass}/config/repairs", "Repairs", local_storage=login)
            )
            loaded = "document.body.dataset.loaded === 'true'"
            async with ingress_proxy(addon.url, addon.token) as ingress_url:
                screens.append(
                    await capture(
                        browser, shots, "add-on ingress", ingress_url, "Dishwasher",
                        ready_js=loaded, height=2400,
                    )
                )  # fmt: skip
            screens.append(
                await capture(
                    browser, shots, "add-on plain", f"{addon.url}/", "Dishwasher",
                    headers={"Authorization": f"Bearer {addon.token}"}, ready_js=loaded, height=2400,
                )
            )  # fmt: skip
        finally:
            await browser.close()
    for screen in screens:
        (journey.artifacts / "screenshots" / f"{slug(screen.name)}.txt").write_text(screen.text, encoding="utf-8")
    journey.notes["screens"] = [str(screen.shot) for screen in screens]
    leaks = {screen.name: ids for screen in screens if (ids := internal_ids_in(screen.text, known_ids))}
    assert not leaks, f"internal ids shown to people: {leaks} (texts next to the screenshots in {shots})"


SHEMS_LOGGERS = re.compile(r"custom_components\.shems|shems_optimizer")


def _shems_errors(log: str) -> list[str]:
    """ERROR lines and tracebacks of SHEMS's own code in a Home Assistant or add-on log."""
    problems: list[str] = []
    lines = log.splitlines()
    for index, line in enumerate(lines):
        is_error = " ERROR " in line or '"level": "error"' in line or '"level": "critical"' in line
        if is_error and SHEMS_LOGGERS.search(line):
            problems.append(line)
        if line.startswith("Traceback"):
            block = "\n".join(lines[index : index + 60])
            if SHEMS_LOGGERS.search(block):
                problems.append(block)
        if '"traceback"' in line and SHEMS_LOGGERS.search(line):
            problems.append(line)
    return problems


async def test_logs_have_no_shems_error(journey: Journey) -> None:
    """After the whole journey neither Home Assistant's log nor the add-on's has an error of SHEMS."""
    assert journey.addon is not None
    hass_log = journey.hass.log.read_text(encoding="utf-8", errors="replace")
    addon_log = journey.addon.process.log.read_text(encoding="utf-8", errors="replace")
    assert "custom_components.shems" in hass_log or "shems" in hass_log  # the log is the right one
    assert not _shems_errors(hass_log), _shems_errors(hass_log)
    assert not _shems_errors(addon_log), _shems_errors(addon_log)
