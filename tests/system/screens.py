"""What a person sees: Home Assistant's SHEMS pages and the add-on's web UI, rendered by Chromium, kept
as screenshots, and their visible text checked for internal ids.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .browser import Browser, Tab
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
    browser: Browser,
    directory: Path,
    name: str,
    url: str,
    *needles: str,
    local_storage: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    ready_js: str | None = None,
    height: int = 1000,
) -> Screen:
    """Open ``url``, wait until its text has every needle (and ``ready_js`` is true), keep a screenshot."""
    tab: Tab = await browser.open(url, local_storage=local_storage, headers=headers, height=height)
    try:
        text = await tab.wait_for_text(*needles, timeout_s=60)
        if ready_js is not None:
            await tab.wait_for_js(ready_js, timeout_s=60)
            text = await tab.visible_text()
        shot = await tab.screenshot(directory / f"{slug(name)}.png")
    finally:
        await tab.close()
    return Screen(name=name, url=url, shot=shot, text=text)
