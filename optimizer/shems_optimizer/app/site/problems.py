"""Set-up problems a person must fix, for the status document (``problems``) and the start-up log.

Each problem is a stable ``code`` a client can act on (the Home Assistant integration raises a repair
issue per code) and a ``message`` in plain words: what is missing, what it means for the plans, and
what to do. Today there is one: the service was started without Home Assistant access, so it reads no
Home Assistant sensors and no prices from Home Assistant; without it a plan needs a fixed or
time-of-use price in the site, and measurements come over MQTT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NO_HOME_ASSISTANT = "no_home_assistant"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _price_needs_home_assistant(site: Mapping[str, Any]) -> bool:
    price = site.get("price")
    return isinstance(price, Mapping) and price.get("kind") == "entity"


def no_home_assistant(site: Mapping[str, Any] | None) -> Problem:
    """The problem of a service without Home Assistant's URL and token, worded for ``site``."""
    message = (
        "SHEMS has no access to Home Assistant (no Home Assistant URL and token are configured), so it "
        "reads no Home Assistant sensors and no prices from Home Assistant. Give a fixed or time-of-use "
        "price in the site and send measurements over MQTT, or set SHEMS_HA_URL and SHEMS_HA_TOKEN "
        "(a long-lived access token) and restart."
    )
    if site is not None and _price_needs_home_assistant(site):
        message += " The site's price comes from a Home Assistant sensor: no plan can be made until then."
    return Problem(NO_HOME_ASSISTANT, message)


class SetupProblems:
    """The status part ``problems``: recomputed on every status read, so a changed site is reflected."""

    def __init__(self, has_home_assistant: bool, site: Callable[[], Mapping[str, Any] | None]) -> None:
        self._has_home_assistant = has_home_assistant
        self._site = site

    def current(self) -> list[Problem]:
        if self._has_home_assistant:
            return []
        return [no_home_assistant(self._site())]

    def status(self) -> dict[str, Any]:
        return {"problems": [problem.as_json() for problem in self.current()]}
