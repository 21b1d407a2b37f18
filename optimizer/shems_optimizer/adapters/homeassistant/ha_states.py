"""Reading entity states from Home Assistant's REST API (inside the add-on: the Supervisor's proxy)."""

from __future__ import annotations

import logging
import math
from typing import Any

import aiohttp

from shems_optimizer.app.config import HomeAssistantConfig

_LOGGER = logging.getLogger(__name__)


class HaStates:
    def __init__(
        self, config: HomeAssistantConfig, session: aiohttp.ClientSession, timeout_s: float = 10.0
    ) -> None:
        self._base = config.url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {config.token}"}
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._warned: set[str] = set()

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """The state document, or ``None`` (unknown entity, HA unreachable); warns once per entity."""
        url = f"{self._base}/api/states/{entity_id}"
        try:
            async with self._session.get(url, headers=self._headers, timeout=self._timeout) as resp:
                if resp.status == 200:
                    self._warned.discard(entity_id)
                    body = await resp.json()
                    return body if isinstance(body, dict) else None
                problem = f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            problem = f"{type(err).__name__}: {err}"
        if entity_id not in self._warned:
            self._warned.add(entity_id)
            _LOGGER.warning(
                "cannot read a Home Assistant entity", extra={"entity_id": entity_id, "error": problem}
            )
        return None

    async def number(self, entity_id: str | None) -> float | None:
        """The entity's state as a finite number; ``None`` for unavailable/unknown/non-numeric."""
        if not entity_id:
            return None
        doc = await self.state(entity_id)
        if doc is None:
            return None
        try:
            value = float(doc.get("state"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None
