"""Commands to Home Assistant entities through HA's REST API service calls.

Inside the add-on the API is the Supervisor's proxy (``http://supervisor/core/api``) with the
``SUPERVISOR_TOKEN``; elsewhere a long-lived access token. A command name maps to a service of the
entity's domain; a 2xx answer is the acknowledgement, 4xx a refusal (``failed``), anything else a
transient error that is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from shems_optimizer.app.config import HomeAssistantConfig
from shems_optimizer.app.execution.routes import HomeAssistantRoute


class HaCallRefused(Exception):
    """Home Assistant refused the call (unknown service, bad data): retrying will not help."""


class HaCallFailed(Exception):
    """The call did not get through (connection, timeout, 5xx): worth retrying."""


def service_for(
    route: HomeAssistantRoute, command: str, payload: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """(domain, service, data) for a command, or :class:`HaCallRefused` naming what is unsupported."""
    domain = route.domain
    data: dict[str, Any] = {"entity_id": route.entity_id}
    if command in ("start", "turn_on", "on"):
        return domain, "turn_on", data
    if command in ("stop", "turn_off", "off"):
        return domain, "turn_off", data
    if command == "set_value" and "value" in payload:
        return domain, "set_value", {**data, "value": payload["value"]}
    if command in ("set_mode", "select_option") and "option" in payload:
        return domain, "select_option", {**data, "option": payload["option"]}
    if command == "set_power" and "power_w" in payload and domain == "number":
        return domain, "set_value", {**data, "value": payload["power_w"]}
    if command == "call_service" and isinstance(payload.get("service"), str) and "." in payload["service"]:
        service_domain, service = payload["service"].split(".", 1)
        raw = payload.get("data")
        extra: dict[str, Any] = raw if isinstance(raw, dict) else {}
        return service_domain, service, {**extra, **data}
    raise HaCallRefused(
        f"command {command!r} has no Home Assistant service for {route.entity_id} "
        "(use start/stop, set_value with value, set_mode with option, or call_service)"
    )


class HaServiceCaller:
    def __init__(
        self, config: HomeAssistantConfig, session: aiohttp.ClientSession, timeout_s: float = 10.0
    ) -> None:
        self._base = config.url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {config.token}"}
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def call(
        self, route: HomeAssistantRoute, command: str, payload: Mapping[str, Any], correlation_id: str | None
    ) -> None:
        domain, service, data = service_for(route, command, payload)
        headers = dict(self._headers)
        if correlation_id:
            headers["X-Correlation-ID"] = correlation_id
        url = f"{self._base}/api/services/{domain}/{service}"
        try:
            async with self._session.post(url, json=data, headers=headers, timeout=self._timeout) as resp:
                text = await resp.text()
                if 200 <= resp.status < 300:
                    return
                if 400 <= resp.status < 500:
                    raise HaCallRefused(f"{domain}.{service} refused with HTTP {resp.status}: {text[:200]}")
                raise HaCallFailed(f"{domain}.{service}: HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise HaCallFailed(f"{domain}.{service}: {type(err).__name__}: {err}") from err
