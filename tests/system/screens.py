"""What a person sees: Home Assistant's SHEMS pages and the add-on's web UI, rendered by Chromium, kept
as screenshots, and their visible text checked for internal ids.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.browser import FIND_DEEP_JS, Tab

from .ha_client import Tokens, client_id

# ULIDs (subentry and asset ids), also cut short with an ellipsis; 32-hex ids (entries, instances, plans).
ID_PATTERNS = (
    re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b"),
    re.compile(r"\b01[0-9A-HJKMNP-TV-Z]{4,}(…|\.\.\.)"),
    re.compile(r"\b[0-9a-f]{32}\b"),
)


@dataclass(frozen=True)
class Screen:
    name: str
    url: str
    shot: Path
    text: str


def internal_ids_in(text: str, known_ids: list[str]) -> list[str]:
    """Every internal id (a known one, or anything shaped like one) in ``text``."""
    found = [identifier for identifier in known_ids if identifier and identifier in text]
    for pattern in ID_PATTERNS:
        found += [match.group(0) for match in pattern.finditer(text)]
    return sorted(set(found))


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")


def hass_tokens(url: str, tokens: Tokens) -> dict[str, str]:
    """``localStorage.hassTokens`` as the frontend keeps it after a login: the page opens logged in."""
    return {
        "hassTokens": json.dumps(
            {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "token_type": "Bearer",
                "expires_in": tokens.expires_in,
                "expires": int(time.time() * 1000) + tokens.expires_in * 1000,
                "hassUrl": url,
                "clientId": client_id(url),
            }
        )
    }


async def capture(
    tab: Tab,
    directory: Path,
    name: str,
    *needles: str,
    ready_js: str | None = None,
    height: int = 1000,
    width: int = 1280,
) -> Screen:
    """Wait until the tab's text has every needle (and ``ready_js`` is true), keep a screenshot."""
    await tab.resize(width, height)
    if ready_js is not None:
        await tab.wait_for_js(ready_js, timeout_s=60)
    text = await tab.wait_for_text(*needles, timeout_s=60)
    shot = await tab.screenshot(directory / f"{slug(name)}.png")
    url = str(await tab.evaluate("location.href"))
    (directory / f"{slug(name)}.txt").write_text(text, encoding="utf-8")
    return Screen(name=name, url=url, shot=shot, text=text)


def device_page_shows(device_id: str) -> str:
    """True once Home Assistant's device page shows this device (not the page navigated from)."""
    return f"(({FIND_DEEP_JS})('ha-config-device-page') || {{}}).deviceId === {json.dumps(device_id)}"
