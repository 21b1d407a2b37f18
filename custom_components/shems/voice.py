"""Spoken questions for Home Assistant's built-in conversation agent, with no file for the user to copy.

The sentences in ``sentences/<language>.yaml`` are attached as conversation (sentence) triggers, the
same public trigger platform automations use, while at least one SHEMS entry is loaded. A matched
sentence runs the SHEMS intent (``intents.py``) in the sentence's own language and speaks its answer;
other agents (LLM-based ones) reach the same intents directly. Unloading the last entry removes them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml
from homeassistant.const import CONF_COMMAND, CONF_ID, CONF_PLATFORM
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.helpers.script import ScriptRunResult
from homeassistant.helpers.trigger import async_initialize_triggers, async_validate_trigger_config
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .intents import say

_LOGGER = logging.getLogger(__name__)

SENTENCES_DIR = Path(__file__).parent / "sentences"
CONVERSATION = "conversation"
DATA_VOICE: HassKey[VoiceRegistration] = HassKey(f"{DOMAIN}_voice")


@dataclass(frozen=True, slots=True)
class SentenceSet:
    """Sentences of one language that ask for one SHEMS intent, with the slots they fix (e.g. the
    sentences that say "today" fix ``day: today``)."""

    language: str
    intent_type: str
    sentences: tuple[str, ...]
    slots: tuple[tuple[str, str], ...] = ()
    index: int = 0  # the n-th data block of this intent and language

    @property
    def trigger_id(self) -> str:
        return f"{self.intent_type}/{self.language}/{self.index}"


@dataclass
class VoiceRegistration:
    """Which entries keep the sentences attached; they are attached once, however many entries."""

    entries: set[str] = field(default_factory=set)
    detach: CALLBACK_TYPE | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def load_sentence_sets(directory: Path = SENTENCES_DIR) -> list[SentenceSet]:
    """Read every ``<language>.yaml`` (blocking: call it in the executor)."""
    sets: list[SentenceSet] = []
    for path in sorted(directory.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = str(document["language"])
        for intent_type, spec in document["intents"].items():
            for index, data in enumerate(spec["data"]):
                sets.append(
                    SentenceSet(
                        language=language,
                        intent_type=str(intent_type),
                        sentences=tuple(data["sentences"]),
                        slots=tuple((str(k), str(v)) for k, v in (data.get("slots") or {}).items()),
                        index=index,
                    )
                )
    return sets


async def async_attach_sentences(hass: HomeAssistant, entry_id: str) -> CALLBACK_TYPE:
    """Attach the sentences for as long as ``entry_id`` is loaded; the returned callback releases it."""
    registration = hass.data.setdefault(DATA_VOICE, VoiceRegistration())
    async with registration.lock:
        registration.entries.add(entry_id)
        if registration.detach is None:
            registration.detach = await _async_attach(hass)

    @callback
    def release() -> None:
        registration.entries.discard(entry_id)
        if not registration.entries and registration.detach is not None:
            registration.detach()
            registration.detach = None

    return release


async def _async_attach(hass: HomeAssistant) -> CALLBACK_TYPE | None:
    sentence_sets = await hass.async_add_executor_job(load_sentence_sets)
    by_trigger = {sentence_set.trigger_id: sentence_set for sentence_set in sentence_sets}
    try:
        configs = await async_validate_trigger_config(
            hass,
            [
                {CONF_PLATFORM: CONVERSATION, CONF_ID: trigger_id, CONF_COMMAND: list(sentence_set.sentences)}
                for trigger_id, sentence_set in by_trigger.items()
            ],
        )
    except vol.Invalid as err:
        # Voice is a convenience: SHEMS works without Home Assistant's conversation integration.
        _LOGGER.warning("SHEMS voice sentences are not available: %s", err)
        return None

    async def answer(run_variables: dict[str, Any], context: Context | None = None) -> ScriptRunResult:
        trigger = run_variables["trigger"]
        sentence_set = by_trigger[trigger["id"]]
        # The trigger hands over the conversation's context as a dict: keep the speaker's user id.
        spoken = (trigger.get("user_input") or {}).get("context") or {}
        context = context or Context(user_id=spoken.get("user_id"), parent_id=spoken.get("id"))
        speech = await async_answer(hass, sentence_set, trigger, context)
        return ScriptRunResult(conversation_response=speech, service_response=None, variables={})

    def log(level: int, message: str, **kwargs: Any) -> None:
        _LOGGER.log(level, "%s SHEMS voice sentences", message, **kwargs)

    return await async_initialize_triggers(hass, configs, answer, DOMAIN, "SHEMS voice", log)


async def async_answer(
    hass: HomeAssistant, sentence_set: SentenceSet, trigger: dict[str, Any], context: Context | None
) -> str:
    """Run the sentence's intent in the sentence's language and return what to say."""
    spoken = dict(sentence_set.slots) | (trigger.get("slots") or {})
    slots = {name: {"value": value} for name, value in spoken.items()}
    try:
        response = await intent.async_handle(
            hass,
            DOMAIN,
            sentence_set.intent_type,
            slots,
            text_input=trigger.get("sentence"),
            context=context,
            language=sentence_set.language,
            device_id=trigger.get("device_id"),
            satellite_id=trigger.get("satellite_id"),
        )
    except intent.IntentError as err:
        _LOGGER.warning("Voice request %r failed: %s", trigger.get("sentence"), err)
        return say(sentence_set.language, "failed", error=str(err))
    return str(response.speech.get("plain", {}).get("speech", ""))
