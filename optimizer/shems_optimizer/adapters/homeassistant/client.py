"""The engine's one Home Assistant client: entity states and service calls over REST, and the
authenticated WebSocket the sensor ingestion subscribes through.

Inside the add-on every path goes through the Supervisor's proxy (``http://supervisor/core`` with the
``SUPERVISOR_TOKEN``); elsewhere HA's own URL and a long-lived access token. One base URL, one token
and one timeout serve all three uses, so they cannot drift apart (they were three classes, each with
its own copy of the headers, URL rules and error handling).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from shems_optimizer.app.config import HomeAssistantConfig
from shems_optimizer.app.execution.routes import HaCallRefused

_LOGGER = logging.getLogger(__name__)


class HomeAssistantError(Exception):
    """Home Assistant answered something the engine cannot use."""


class HomeAssistantAuthError(HomeAssistantError):
    """The access token was rejected; retrying would not help."""


class HaCallFailed(Exception):
    """The call did not get through (connection, timeout, 5xx): worth retrying."""


class HomeAssistantClient:
    """``session``: the service's shared HTTP session; without one, :meth:`session` opens its own."""

    def __init__(
        self,
        config: HomeAssistantConfig,
        session: aiohttp.ClientSession | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self._base = config.url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {config.token}"}
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._warned: set[str] = set()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[aiohttp.ClientSession]:
        if self._session is not None:
            yield self._session
            return
        async with aiohttp.ClientSession() as own:
            yield own

    # -- REST: states ---------------------------------------------------------------------------------
    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """The state document, or ``None`` (unknown entity, HA unreachable); warns once per entity."""
        url = f"{self._base}/api/states/{entity_id}"
        try:
            async with (
                self.session() as http,
                http.get(url, headers=self._headers, timeout=self._timeout) as resp,
            ):
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

    # -- REST: services -------------------------------------------------------------------------------
    async def call_service(
        self, domain: str, service: str, data: Mapping[str, Any], correlation_id: str | None = None
    ) -> None:
        """A 2xx answer is the acknowledgement; 4xx :class:`HaCallRefused`, else :class:`HaCallFailed`."""
        headers = dict(self._headers)
        if correlation_id:
            headers["X-Correlation-ID"] = correlation_id
        url = f"{self._base}/api/services/{domain}/{service}"
        try:
            async with (
                self.session() as http,
                http.post(url, json=dict(data), headers=headers, timeout=self._timeout) as resp,
            ):
                text = await resp.text()
                if 200 <= resp.status < 300:
                    return
                if 400 <= resp.status < 500:
                    raise HaCallRefused(f"{domain}.{service} refused with HTTP {resp.status}: {text[:200]}")
                raise HaCallFailed(f"{domain}.{service}: HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise HaCallFailed(f"{domain}.{service}: {type(err).__name__}: {err}") from err

    # -- WebSocket ------------------------------------------------------------------------------------
    @asynccontextmanager
    async def websocket(self, http: aiohttp.ClientSession) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """HA's WebSocket API, authenticated; :class:`HomeAssistantAuthError` for a rejected token."""
        async with http.ws_connect(
            self.config.websocket_url, heartbeat=30, timeout=aiohttp.ClientWSTimeout(ws_close=self.timeout_s)
        ) as ws:
            hello = await ws.receive_json(timeout=self.timeout_s)
            if hello.get("type") != "auth_required":
                raise HomeAssistantError(
                    f"expected auth_required from Home Assistant, got {hello.get('type')!r}"
                )
            await ws.send_json({"type": "auth", "access_token": self.config.token})
            answer = await ws.receive_json(timeout=self.timeout_s)
            if answer.get("type") == "auth_invalid":
                raise HomeAssistantAuthError(
                    f"Home Assistant rejected the access token: {answer.get('message', '')}"
                )
            if answer.get("type") != "auth_ok":
                raise HomeAssistantError(f"unexpected authentication answer {answer.get('type')!r}")
            yield ws
