"""Voice intents and the Energy dashboard's solar forecast, on a real plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.energy import async_get_solar_forecast
from custom_components.shems.intents import INTENT_CHEAPEST, INTENT_SCHEDULE, cheapest_phrase, next_finish_by
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
    start_at = dt_util.parse_datetime(upcoming[first]["start"])
    assert start_at is not None
    start = dt_util.as_local(start_at).strftime("%H:%M")
    end = dt_util.as_local(dt_util.parse_datetime(upcoming[last]["end"])).strftime("%H:%M")
    price_de = f"{lowest:.2f}".replace(".", ",")
    german = await intent.async_handle(hass, "test", INTENT_CHEAPEST, language="de")
    if start_at <= now:
        expected = (
            f"Electricity is cheapest now, until {end}, at {lowest:.2f} EUR/kWh.",
            f"Strom ist jetzt am günstigsten, bis {end}, für {price_de} EUR/kWh.",
        )
    elif dt_util.as_local(start_at).date() > dt_util.as_local(now).date():
        expected = (
            f"Electricity is cheapest tomorrow from {start} to {end}, at {lowest:.2f} EUR/kWh.",
            f"Strom ist morgen von {start} bis {end} am günstigsten, für {price_de} EUR/kWh.",
        )
    else:
        expected = (
            f"Electricity is cheapest from {start} to {end}, at {lowest:.2f} EUR/kWh.",
            f"Strom ist von {start} bis {end} am günstigsten, für {price_de} EUR/kWh.",
        )
    assert (speech, german.speech["plain"]["speech"]) == expected


@pytest.mark.parametrize(
    ("start", "phrase"),
    [
        # now = 10:05 UTC = 11:05 in Berlin (CET, UTC+1)
        (datetime(2026, 11, 24, 10, 0, tzinfo=UTC), "cheapest_now"),  # already running
        (datetime(2026, 11, 24, 10, 5, tzinfo=UTC), "cheapest_now"),  # starts this instant
        (datetime(2026, 11, 24, 20, 0, tzinfo=UTC), "cheapest"),  # 21:00 today
        (datetime(2026, 11, 24, 22, 45, tzinfo=UTC), "cheapest"),  # 23:45 today
        (datetime(2026, 11, 24, 23, 0, tzinfo=UTC), "cheapest_tomorrow"),  # 00:00 tomorrow
        (datetime(2026, 11, 25, 2, 0, tzinfo=UTC), "cheapest_tomorrow"),  # 03:00 tomorrow
    ],
)
async def test_cheapest_phrase_says_now_today_or_tomorrow(
    hass: HomeAssistant, start: datetime, phrase: str
) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    assert cheapest_phrase(start, datetime(2026, 11, 24, 10, 5, tzinfo=UTC)) == phrase


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


async def test_spoken_schedule_finishes_by_the_usual_time_or_within_a_day(hass: HomeAssistant) -> None:
    """The next 07:00 at least 30 minutes away; without a usual finish time, 24 hours from now."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    now = dt_util.now()
    usual = next_finish_by("07:00:00")
    assert (usual.hour, usual.minute) == (7, 0)
    assert now + timedelta(minutes=30) < usual <= now + timedelta(days=1, minutes=30)
    anytime = next_finish_by(None)
    assert timedelta(hours=23, minutes=59) < anytime - dt_util.utcnow() <= timedelta(hours=24)
