"""Voice: "when is electricity cheapest today?" and "start the dishwasher at the cheapest time".

The intent handlers work with any conversation agent; the sentences that map to them for HA's built-in
agent are in ``sentences/<language>.yaml`` and are attached automatically (``voice.py``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import intent
from homeassistant.util import dt as dt_util

from .api import ShemsError
from .const import CONF_FINISH_BY, SUBENTRY_APPLIANCE
from .models import Plan, Window
from .plan_math import cheapest_window, local_day_bounds
from .services import resolve_entry

if TYPE_CHECKING:
    from . import ShemsConfigEntry

INTENT_CHEAPEST = "ShemsCheapestTime"
INTENT_SCHEDULE = "ShemsScheduleAppliance"
DAY_TODAY = "today"  # the cheapest-time question's optional scope: the rest of the local day

SPEECH: dict[str, dict[str, str]] = {
    "en": {
        "cheapest_now": "Electricity is cheapest now, until {end}, at {price} {unit}.",
        "cheapest": "Electricity is cheapest from {start} to {end}, at {price} {unit}.",
        "cheapest_tomorrow": "Electricity is cheapest tomorrow from {start} to {end}, at {price} {unit}.",
        "today_now": "Electricity is cheapest now for the rest of today, until {end}, at {price} {unit}.",
        "today": "Electricity is cheapest today from {start} to {end}, at {price} {unit}.",
        "cheaper_tomorrow": "Tomorrow it gets cheaper: from {start}, at {price} {unit}.",
        "midnight": "midnight",
        "no_plan": "I don't have prices for the coming hours yet.",
        "scheduled": "The {appliance} will start at {start}.",
        "unknown_appliance": "I don't know an appliance called {appliance}.",
        "failed": "Sorry, SHEMS could not do that: {error}",
    },
    "de": {
        "cheapest_now": "Strom ist jetzt am günstigsten, bis {end}, für {price} {unit}.",
        "cheapest": "Strom ist von {start} bis {end} am günstigsten, für {price} {unit}.",
        "cheapest_tomorrow": "Strom ist morgen von {start} bis {end} am günstigsten, für {price} {unit}.",
        "today_now": "Strom ist für den Rest des Tages jetzt am günstigsten, bis {end}, für {price} {unit}.",
        "today": "Strom ist heute von {start} bis {end} am günstigsten, für {price} {unit}.",
        "cheaper_tomorrow": "Morgen wird er günstiger: ab {start}, für {price} {unit}.",
        "midnight": "Mitternacht",
        "no_plan": "Für die nächsten Stunden habe ich noch keine Preise.",
        "scheduled": "{appliance} startet um {start}.",
        "unknown_appliance": "Ich kenne kein Gerät namens {appliance}.",
        "failed": "Das hat leider nicht geklappt: {error}",
    },
}
ARTICLES = ("the ", "my ", "den ", "die ", "das ", "meinen ", "meine ", "mein ")


def say(language: str | None, key: str, **values: Any) -> str:
    texts = SPEECH.get((language or "en")[:2], SPEECH["en"])
    return texts[key].format(**values)


def _without_article(spoken: str) -> str:
    """'the Dishwasher' → 'Dishwasher': a wildcard slot may or may not include the article."""
    for article in ARTICLES:
        if spoken.casefold().startswith(article):
            return spoken[len(article) :].strip()
    return spoken


def _comparable(name: str) -> str:
    """'Dish washer', 'dish-washer' and 'Dishwasher' are the same appliance to a listener."""
    return re.sub(r"[\W_]+", "", name.casefold())


def _decimal(language: str | None, value: float) -> str:
    """Two decimals, with the decimal comma German speakers expect."""
    text = f"{value:.2f}"
    return text.replace(".", ",") if (language or "en")[:2] == "de" else text


def _loaded_entry(hass: HomeAssistant) -> ShemsConfigEntry:
    """The one loaded SHEMS entry; a spoken request cannot name an entry."""
    try:
        return resolve_entry(hass, None)
    except ServiceValidationError as err:
        raise intent.IntentHandleError(str(err)) from err


def _clock(value: Any) -> str:
    return str(dt_util.as_local(value).strftime("%H:%M"))


def cheapest_phrase(start: datetime, now: datetime) -> str:
    """Say "now" for a window already running and "tomorrow" for one on the next local day."""
    if start <= now:
        return "cheapest_now"
    if dt_util.as_local(start).date() > dt_util.as_local(now).date():
        return "cheapest_tomorrow"
    return "cheapest"


def cheapest_answer(
    plan: Plan, now: datetime, *, today: bool, language: str | None, unit: str
) -> tuple[str, Window] | None:
    """What to say about the cheapest time, and the window it names; None without prices ahead.

    Asked about today, the answer covers the rest of the local day (up to midnight, never a window of
    tomorrow) and adds when tomorrow is cheaper still; otherwise it covers the next 24 hours.
    """
    ahead = cheapest_window(plan, now)
    if ahead is None:
        return None

    def figures(window: Window) -> dict[str, str]:
        return {
            "start": _clock(window.start),
            "end": _clock(window.end),
            "price": _decimal(language, window.price),
            "unit": unit,
        }

    if not today:
        return say(language, cheapest_phrase(ahead.start, now), **figures(ahead)), ahead
    midnight = local_day_bounds(now)[1]
    rest = cheapest_window(plan, now, today=True)
    if rest is None:
        return None
    values = figures(rest)
    if rest.end >= midnight:
        values["end"] = say(language, "midnight")
    text = say(language, "today_now" if rest.start <= now else "today", **values)
    if ahead.start >= midnight and ahead.price < rest.price:
        text = f"{text} {say(language, 'cheaper_tomorrow', **figures(ahead))}"
    return text, rest


class CheapestTimeIntent(intent.IntentHandler):
    """Tell when import is cheapest within the next 24 hours, or for the rest of today."""

    intent_type = INTENT_CHEAPEST
    description = (
        "Tells when electricity is cheapest in the next 24 hours, or for the rest of today "
        "(day: today), according to SHEMS"
    )

    @property
    def slot_schema(self) -> dict[Any, Any]:
        return {vol.Optional("day"): vol.In([DAY_TODAY])}

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        hass = intent_obj.hass
        slots = self.async_validate_slots(intent_obj.slots)
        today = (slots.get("day") or {}).get("value") == DAY_TODAY
        response = intent_obj.create_response()
        entry = _loaded_entry(hass)
        plan = entry.runtime_data.coordinator.data.plan
        unit = f"{hass.config.currency}/{UnitOfEnergy.KILO_WATT_HOUR}"
        answer = (
            cheapest_answer(plan, dt_util.utcnow(), today=today, language=intent_obj.language, unit=unit)
            if plan is not None
            else None
        )
        if answer is None:
            response.async_set_speech(say(intent_obj.language, "no_plan"))
            return response
        text, window = answer
        response.async_set_speech(text)
        response.async_set_speech_slots({"start": window.start.isoformat(), "price": window.price})
        return response


class ScheduleApplianceIntent(intent.IntentHandler):
    """Let SHEMS pick the cheapest start for an appliance (finishing by its usual time or within a day)."""

    intent_type = INTENT_SCHEDULE
    description = "Starts an appliance at the cheapest time SHEMS finds"

    @property
    def slot_schema(self) -> dict[Any, Any]:
        return {vol.Required("appliance"): cv.string}

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        hass = intent_obj.hass
        slots = self.async_validate_slots(intent_obj.slots)
        spoken = _without_article(str(slots["appliance"]["value"]).strip())
        name = _comparable(spoken)
        response = intent_obj.create_response()
        entry = _loaded_entry(hass)
        match = next(
            (
                (sub_id, sub)
                for sub_id, sub in entry.subentries.items()
                if sub.subentry_type == SUBENTRY_APPLIANCE and _comparable(sub.title) == name
            ),
            None,
        )
        if match is None:
            response.async_set_speech(say(intent_obj.language, "unknown_appliance", appliance=spoken))
            return response
        sub_id, subentry = match
        finish_by = next_finish_by(subentry.data.get(CONF_FINISH_BY))
        try:
            result = await entry.runtime_data.coordinator.async_schedule_appliance(sub_id, finish_by)
        except ShemsError as err:
            raise intent.IntentHandleError(str(err)) from err
        start = dt_util.parse_datetime(str(result.get("planned_start")))
        if start is None:
            raise intent.IntentHandleError(f"the add-on returned no planned start for {subentry.title}")
        response.async_set_speech(
            say(intent_obj.language, "scheduled", appliance=subentry.title, start=_clock(start))
        )
        return response


def next_finish_by(raw: Any) -> datetime:
    """The next occurrence of the appliance's usual finish time, or 24 h from now."""
    now = dt_util.now()
    parsed = dt_util.parse_time(str(raw)) if raw else None
    if parsed is None:
        return dt_util.utcnow() + timedelta(hours=24)
    candidate = now.replace(hour=parsed.hour, minute=parsed.minute, second=0, microsecond=0)
    return candidate if candidate > now + timedelta(minutes=30) else candidate + timedelta(days=1)


@callback
def async_setup_intents(hass: HomeAssistant) -> None:
    intent.async_register(hass, CheapestTimeIntent())
    intent.async_register(hass, ScheduleApplianceIntent())
