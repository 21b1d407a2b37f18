"""The forecasters' method names in the words the plan's notes show people.

The forecast modules name their methods for developers (``gradient_boosting``, ``provider_as_is``);
the plan's message is read in the web UI and in Home Assistant, so it says how the forecast was made.
"""

from __future__ import annotations

METHOD_WORDS = {
    "gradient_boosting": "learned from the measured consumption",
    "level_fallback": "the recent typical level",
    "profile_fallback": "the recent days' profile",
    "provider_correction": "the solar forecast service, corrected by the measured production",
    "clear_sky_model": "a clear-sky model fitted to the measured production",
    "provider_as_is": "the solar forecast service as it is",
    "clear_sky_fallback": "a clear-sky curve scaled by the recent production",
}


def method_words(method: str) -> str:
    """A forecaster's method in plain words (an unknown one: the name with spaces)."""
    return METHOD_WORDS.get(method, method.replace("_", " "))
