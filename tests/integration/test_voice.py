"""Spoken requests through Home Assistant's own conversation agent, with no file copied by the user.

The entry's tariff is hand-checkable: 0.40 EUR/kWh from 17:00 to 21:00 local, 0.20 otherwise. So the
cheapest window is the off-peak run the plan is in now (or the next one, during the peak), ending at
17:00 local; the dishwasher (2 h, finish by 07:00) gets an off-peak start before 05:00.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent, llm
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.shems.intents import INTENT_CHEAPEST, INTENT_SCHEDULE
from custom_components.shems.voice import async_attach_sentences

from .conftest import optimized, settled_plan, wait_for

CHEAPEST = {  # asked about today: the answer covers the rest of the local day
    "en": (
        "When is electricity cheapest today?",
        "Electricity is cheapest now for the rest of today, until {end}, at {price} EUR/kWh.",
        "Electricity is cheapest today from {start} to {end}, at {price} EUR/kWh.",
    ),
    "de": (
        "Wann ist Strom heute am günstigsten?",
        "Strom ist für den Rest des Tages jetzt am günstigsten, bis {end}, für {price} EUR/kWh.",
        "Strom ist heute von {start} bis {end} am günstigsten, für {price} EUR/kWh.",
    ),
}
MIDNIGHT = {"en": "midnight", "de": "Mitternacht"}
SCHEDULE = {
    "en": ("Start the dishwasher at the cheapest time", "The Dishwasher will start at {start}."),
    "de": ("Starte den Dishwasher zur günstigsten Zeit", "Dishwasher startet um {start}."),
}

SHEMS_PHRASES = (
    "Electricity is cheapest",
    "Strom ist",
    "I don't have prices",
    "Für die nächsten Stunden",
    "Sorry, SHEMS",
    "Das hat leider nicht",
)


async def speak(hass: HomeAssistant, text: str, language: str) -> intent.IntentResponse:
    result = await conversation.async_converse(hass, text, None, Context(), language=language)
    return result.response


def speech(response: intent.IntentResponse) -> str:
    return str(response.speech["plain"]["speech"])


def is_shems_answer(response: intent.IntentResponse) -> bool:
    """Sentence-trigger answers carry no intent; SHEMS's always start with one of its phrases."""
    return response.intent is None and speech(response).startswith(SHEMS_PHRASES)


def hhmm(moment: datetime) -> str:
    return dt_util.as_local(moment).strftime("%H:%M")


def tariff_window(plan: dict[str, Any]) -> tuple[datetime, datetime]:
    """The off-peak run (0.20) the plan is in now, or the next one, and its end at 17:00 local."""
    now = dt_util.utcnow()
    current = next(s for s in plan["steps"] if dt_util.parse_datetime(s["end"]) > now)
    start = dt_util.parse_datetime(current["start"])
    assert start is not None
    local = dt_util.as_local(start)
    if time(17) <= local.time() < time(21):
        start = dt_util.as_utc(local.replace(hour=21, minute=0))
        local = dt_util.as_local(start)
    end = local.replace(hour=17, minute=0)
    if end <= local:
        end = dt_util.as_local(dt_util.as_utc(end) + timedelta(days=1)).replace(hour=17, minute=0)
    return start, end


@pytest.mark.parametrize("language", ["en", "de"])
async def test_when_is_electricity_cheapest_by_voice(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry, language: str
) -> None:
    plan = await optimized(hass, loaded_entry)
    start, end = tariff_window(plan)
    # The plan the add-on serves prices the window as the tariff says.
    in_window = [
        s
        for s in plan["steps"]
        if start <= dt_util.parse_datetime(s["start"]) < end
        and dt_util.parse_datetime(s["end"]) > dt_util.utcnow()
    ]
    assert in_window and {s["import_price"] for s in in_window} == {0.20}
    # Off-peak now: the window is running ("now, until 17:00"); during the peak it starts at 21:00 today.
    # Asked about today, a window running past midnight is said to end at midnight.
    question, running, later = CHEAPEST[language]
    answer = running if start <= dt_util.utcnow() else later
    response = await speak(hass, question, language)
    price = "0.20" if language == "en" else "0,20"
    midnight = dt_util.start_of_local_day(dt_util.now() + timedelta(days=1))
    until = MIDNIGHT[language] if end >= midnight else hhmm(end)
    assert speech(response) == answer.format(start=hhmm(start), end=until, price=price)


@pytest.mark.parametrize("language", ["en", "de"])
async def test_start_the_dishwasher_at_the_cheapest_time_by_voice(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry, language: str
) -> None:
    await optimized(hass, loaded_entry)
    command, answer = SCHEDULE[language]
    response = await speak(hass, command, language)
    # The add-on now holds a schedule for the dishwasher, due by its usual 07:00 (local, next one at
    # least 30 minutes away), and the spoken start is the one it planned.
    schedules = (await loaded_entry.runtime_data.client.request("GET", "/schedules"))["schedules"]
    assert [s["appliance_id"] for s in schedules] == ["dishwasher1"]
    finish_by = dt_util.as_local(dt_util.parse_datetime(schedules[0]["finish_by"]))
    assert (finish_by.hour, finish_by.minute) == (7, 0)
    assert (
        dt_util.now() + timedelta(minutes=30) < finish_by <= dt_util.now() + timedelta(hours=24, minutes=30)
    )
    plan = loaded_entry.runtime_data.coordinator.data.plan
    assert plan is not None
    run = plan.appliance("dishwasher1")
    assert run is not None and run.planned_start is not None and run.planned_end is not None
    assert speech(response) == answer.format(start=hhmm(run.planned_start))
    assert run.planned_end <= finish_by
    # Cheapest: every step of the run is off-peak (0.20), unless the sun covers it.
    during = [s for s in plan.steps if run.planned_start <= s.start < run.planned_end]
    assert len(during) == 8  # 2 hours of 15-minute steps
    assert all(s.import_price == 0.20 or (s.pv_w or 0) > 0 for s in during)


async def test_an_unknown_appliance_is_named_in_the_answer(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry
) -> None:
    response = await speak(hass, "start the toaster at the cheapest time", "en")
    assert speech(response) == "I don't know an appliance called toaster."
    response = await speak(hass, "starte den Toaster zum günstigsten Zeitpunkt", "de")
    assert speech(response) == "Ich kenne kein Gerät namens Toaster."


async def test_a_failed_request_is_spoken(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry, addon: Any
) -> None:
    await addon.stop()
    try:
        response = await speak(hass, "start the dishwasher at the cheapest time", "en")
    finally:
        await addon.start()
    assert speech(response).startswith("Sorry, SHEMS could not do that: ")


async def test_unloading_the_entry_removes_the_sentences(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry
) -> None:
    await optimized(hass, loaded_entry)
    question = CHEAPEST["en"][0]
    assert is_shems_answer(await speak(hass, question, "en"))
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    for language, (text, *_) in CHEAPEST.items():
        # Whatever Home Assistant's own intents make of it (a fuzzy match may even tell the date), it is
        # no longer a SHEMS answer.
        assert not is_shems_answer(await speak(hass, text, language))
    # Set up again, they are back (the add-on keeps its plan).
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert is_shems_answer(await speak(hass, question, "en"))


async def test_sentences_stay_while_any_holder_is_loaded(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry
) -> None:
    """Attached once however many holders; the last release detaches them."""
    release_other = await async_attach_sentences(hass, "other-entry")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    # Still attached for the other holder; with no loaded entry the intent explains that it has none.
    response = await speak(hass, "when is power cheapest", "en")
    assert speech(response) == (
        "Sorry, SHEMS could not do that: Choose which SHEMS instance to use (0 are loaded)"
    )
    release_other()
    assert not is_shems_answer(await speak(hass, "when is power cheapest", "en"))


async def test_llm_agents_get_the_same_intents_as_tools(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry
) -> None:
    """A conversation agent using Home Assistant's Assist API (e.g. an LLM) can ask the same question."""
    await optimized(hass, loaded_entry)
    context = llm.LLMContext(
        platform="test", context=Context(), language="en", assistant="conversation", device_id=None
    )
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
    tools = {tool.name: tool for tool in api.tools}
    assert {INTENT_CHEAPEST, INTENT_SCHEDULE} <= set(tools)
    assert tools[INTENT_CHEAPEST].description == (
        "Tells when electricity is cheapest in the next 24 hours, or for the rest of today "
        "(day: today), according to SHEMS"
    )
    result = await api.async_call_tool(llm.ToolInput(tool_name=INTENT_CHEAPEST, tool_args={}))
    assert result["speech"]["plain"]["speech"].startswith("Electricity is cheapest ")
    today = await api.async_call_tool(llm.ToolInput(tool_name=INTENT_CHEAPEST, tool_args={"day": "today"}))
    assert today["speech"]["plain"]["speech"].startswith(
        ("Electricity is cheapest now for the rest of today", "Electricity is cheapest today from")
    )


@pytest.mark.parametrize(
    ("language", "text", "answer_starts"),
    [
        ("en", "When does power cost the least?", "Electricity is cheapest "),
        ("en", "what is the cheapest time to use electricity today", "Electricity is cheapest "),
        ("en", "Run the dishwasher when electricity is cheapest.", "The Dishwasher will start at "),
        ("en", "Schedule my dishwasher for the cheapest time", "The Dishwasher will start at "),
        ("de", "Wann kostet der Strom heute am wenigsten?", "Strom ist "),
        ("de", "Wann ist der Strom am billigsten", "Strom ist "),
        ("de", "Lass den Dishwasher laufen, wenn der Strom am billigsten ist.", "Dishwasher startet um "),
        ("de", "Starte den Dishwasher zum günstigsten Zeitpunkt", "Dishwasher startet um "),
    ],
)
async def test_sentence_variants_reach_shems(
    hass: HomeAssistant,
    assist: None,
    loaded_entry: MockConfigEntry,
    language: str,
    text: str,
    answer_starts: str,
) -> None:
    await optimized(hass, loaded_entry)
    assert speech(await speak(hass, text, language)).startswith(answer_starts)


async def test_a_german_appliance_name_with_an_umlaut(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry
) -> None:
    data = {"name": "Geschirrspüler", "power_w": 1800, "duration_min": 90, "smart_start": True}
    hass.config_entries.async_add_subentry(
        loaded_entry,
        ConfigSubentry(
            data=MappingProxyType(data), subentry_type="appliance", title="Geschirrspüler", unique_id=None
        ),
    )
    await hass.async_block_till_done()
    await wait_for(lambda: loaded_entry.state is ConfigEntryState.LOADED)
    await hass.async_block_till_done()
    response = await speak(hass, "Starte den Geschirrspüler zur günstigsten Zeit", "de")
    assert speech(response).startswith("Geschirrspüler startet um ")
    schedules = (await loaded_entry.runtime_data.client.request("GET", "/schedules"))["schedules"]
    subentry_id = next(i for i, s in loaded_entry.subentries.items() if s.title == "Geschirrspüler")
    assert [s["appliance_id"] for s in schedules] == [subentry_id]


def late_today() -> datetime:
    """22:30 local on a day the add-on's 48-hour plan covers with the next day (whatever the time)."""
    return dt_util.as_utc(
        dt_util.start_of_local_day(dt_util.now() + timedelta(hours=2)) + timedelta(hours=22.5)
    )


async def speak_at(hass: HomeAssistant, moment: datetime, text: str, language: str) -> str:
    """Ask with Home Assistant's clock at ``moment`` (the plan stays the add-on's real one)."""
    with patch("homeassistant.util.dt.utcnow", return_value=moment):
        return speech(await speak(hass, text, language))


@pytest.mark.parametrize("language", ["en", "de"])
async def test_cheapest_today_late_in_the_day(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry, language: str
) -> None:
    """At 22:30 the off-peak 0.20 runs to 17:00 tomorrow: for today it ends at midnight."""
    plan = await optimized(hass, loaded_entry)
    late = late_today()
    price = "0.20" if language == "en" else "0,20"
    today = CHEAPEST[language][0]
    assert await speak_at(hass, late, today, language) == CHEAPEST[language][1].format(
        end=MIDNIGHT[language], price=price
    )
    # Without "today" the next 24 hours count: the same run, until 17:00 tomorrow.
    plain = {"en": "When is electricity cheapest?", "de": "Wann ist Strom am günstigsten?"}[language]
    until = {
        "en": "Electricity is cheapest now, until 17:00, at 0.20 EUR/kWh.",
        "de": "Strom ist jetzt am günstigsten, bis 17:00, für 0,20 EUR/kWh.",
    }[language]
    assert await speak_at(hass, late, plain, language) == until

    # Tomorrow 03:00-04:00 cheaper still (an hour at 0.10 in the add-on's tariff, whose plan carries
    # the answer): the rest of today is still the answer, and tomorrow is named.
    client = loaded_entry.runtime_data.client
    site = await client.request("GET", "/site")
    site.pop("updated_at", None)
    site["price"]["periods"] = [
        {"start": "17:00", "end": "21:00", "import_per_kwh": 0.40},
        {"start": "21:00", "end": "03:00", "import_per_kwh": 0.20},
        {"start": "03:00", "end": "04:00", "import_per_kwh": 0.10},
        {"start": "04:00", "end": "17:00", "import_per_kwh": 0.20},
    ]
    await client.put_site(site)
    replanned = await settled_plan(hass, loaded_entry)
    assert replanned["id"] != plan["id"]
    expected = {
        "en": "Electricity is cheapest now for the rest of today, until midnight, at 0.20 EUR/kWh. "
        "Tomorrow it gets cheaper: from 03:00, at 0.10 EUR/kWh.",
        "de": "Strom ist für den Rest des Tages jetzt am günstigsten, bis Mitternacht, für 0,20 EUR/kWh. "
        "Morgen wird er günstiger: ab 03:00, für 0,10 EUR/kWh.",
    }
    assert await speak_at(hass, late, today, language) == expected[language]
    tomorrow = {
        "en": "Electricity is cheapest tomorrow from 03:00 to 04:00, at 0.10 EUR/kWh.",
        "de": "Strom ist morgen von 03:00 bis 04:00 am günstigsten, für 0,10 EUR/kWh.",
    }
    assert await speak_at(hass, late, plain, language) == tomorrow[language]


async def test_everyday_ways_of_asking_for_the_cheapest_time(
    hass: HomeAssistant, assist: None, loaded_entry: MockConfigEntry
) -> None:
    """Contractions and other wordings people use reach SHEMS, and "today" keeps its meaning."""
    await optimized(hass, loaded_entry)
    for language, text, today in (
        ("en", "when's power cheapest", False),
        ("en", "What time is electricity cheapest?", False),
        ("en", "When are electricity prices lowest?", False),
        ("en", "What's the cheapest time for power?", False),
        ("en", "When's power the cheapest today?", True),
        ("de", "Wann ist Strom billig?", False),
        ("de", "Wann sind die Strompreise am niedrigsten?", False),
        ("de", "Wann ist die günstigste Zeit für Strom?", False),
        ("de", "Wann ist der Strompreis heute am niedrigsten?", True),
    ):
        answer = speech(await speak(hass, text, language))
        if language == "en":
            scoped = answer.startswith(
                ("Electricity is cheapest now for the rest", "Electricity is cheapest today")
            )
            assert answer.startswith("Electricity is cheapest ") and scoped == today, (text, answer)
        else:
            scoped = answer.startswith(("Strom ist für den Rest", "Strom ist heute"))
            assert answer.startswith("Strom ist ") and scoped == today, (text, answer)
