"""Voice intents and the Energy dashboard's solar forecast, on a real plan."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.energy import async_get_solar_forecast
from custom_components.shems.intents import INTENT_CHEAPEST, INTENT_SCHEDULE
from custom_components.shems.models import parse_plan

from .conftest import optimized

SENTENCES = Path(__file__).resolve().parents[2] / "custom_components" / "shems" / "sentences"


async def test_when_is_electricity_cheapest(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The answer spans the whole run of back-to-back steps at the lowest price, not its first step."""
    plan = await optimized(hass, loaded_entry)
    response = await intent.async_handle(hass, "test", INTENT_CHEAPEST, language="en")
    speech = response.speech["plain"]["speech"]
    now = dt_util.utcnow()
    upcoming = [
        s
        for s in plan["steps"]
        if dt_util.parse_datetime(s["end"]) > now
        and dt_util.parse_datetime(s["start"]) < now + timedelta(hours=24)
    ]
    lowest = min(s["import_price"] for s in upcoming)
    first = next(i for i, s in enumerate(upcoming) if s["import_price"] == lowest)
    last = first
    while last + 1 < len(upcoming) and upcoming[last + 1]["import_price"] == lowest:
        last += 1
    assert last > first, "a 15-minute plan of an hourly-or-longer tariff has several cheapest steps"
    start = dt_util.as_local(dt_util.parse_datetime(upcoming[first]["start"])).strftime("%H:%M")
    end = dt_util.as_local(dt_util.parse_datetime(upcoming[last]["end"])).strftime("%H:%M")
    assert speech == f"Electricity is cheapest from {start} to {end}, at {lowest:.2f} EUR/kWh."
    german = await intent.async_handle(hass, "test", INTENT_CHEAPEST, language="de")
    price_de = f"{lowest:.2f}".replace(".", ",")
    assert german.speech["plain"]["speech"] == (
        f"Strom ist von {start} bis {end} am günstigsten, für {price_de} EUR/kWh."
    )


async def test_cheapest_without_a_plan(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    loaded_entry.runtime_data.coordinator.async_set_plan(None)
    response = await intent.async_handle(hass, "test", INTENT_CHEAPEST, language="en")
    assert response.speech["plain"]["speech"] == "I don't have prices for the coming hours yet."


@pytest.mark.parametrize("language", ["en", "de"])
def test_sentences_map_to_the_registered_intents(language: str) -> None:
    sentences = yaml.safe_load((SENTENCES / f"{language}.yaml").read_text())
    assert sentences["language"] == language
    assert set(sentences["intents"]) == {INTENT_CHEAPEST, INTENT_SCHEDULE}
    schedule = sentences["intents"][INTENT_SCHEDULE]["data"][0]["sentences"]
    assert all("{appliance}" in sentence for sentence in schedule)
    assert sentences["lists"]["appliance"] == {"wildcard": True}


async def test_solar_forecast_for_the_energy_dashboard(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    plan = await optimized(hass, loaded_entry)
    # 15-minute steps of a hand-checkable PV curve: 1000 W then 3000 W for one hour each.
    start = dt_util.parse_datetime(plan["steps"][0]["start"])
    assert start is not None
    hour = dt_util.as_utc(start).replace(minute=0) + timedelta(hours=1)
    steps = [
        plan["steps"][0]
        | {
            "start": (hour + timedelta(minutes=15 * i)).isoformat(),
            "end": (hour + timedelta(minutes=15 * (i + 1))).isoformat(),
            "pv_w": 1000.0 if i < 4 else 3000.0,
        }
        for i in range(8)
    ]
    loaded_entry.runtime_data.coordinator.async_set_plan(parse_plan(plan | {"id": "pv", "steps": steps}))
    forecast = await async_get_solar_forecast(hass, loaded_entry.entry_id)
    assert forecast == {
        "wh_hours": {hour.isoformat(): 1000.0, (hour + timedelta(hours=1)).isoformat(): 3000.0}
    }
    assert await async_get_solar_forecast(hass, "not-an-entry") is None


async def test_start_the_dishwasher_at_the_cheapest_time(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    response = await intent.async_handle(
        hass, "test", INTENT_SCHEDULE, {"appliance": {"value": "the Dishwasher"}}, language="en"
    )
    plan = loaded_entry.runtime_data.coordinator.data.plan
    assert plan is not None
    run = plan.appliance("dishwasher1")
    assert run is not None and run.planned_start is not None
    assert response.speech["plain"]["speech"] == (
        f"The Dishwasher will start at {dt_util.as_local(run.planned_start).strftime('%H:%M')}."
    )
    # However speech recognition spells it, and with or without an article.
    for spoken in ("my dish washer", "Dish-Washer"):
        again = await intent.async_handle(
            hass, "test", INTENT_SCHEDULE, {"appliance": {"value": spoken}}, language="en"
        )
        assert again.speech["plain"]["speech"].startswith("The Dishwasher will start at ")
    unknown = await intent.async_handle(hass, "test", INTENT_SCHEDULE, {"appliance": {"value": "toaster"}})
    assert unknown.speech["plain"]["speech"] == "I don't know an appliance called toaster."
