"""Commands to Home Assistant entities as service calls (sent by :mod:`.client`).

A command name maps to a service of the entity's domain; a 2xx answer is the acknowledgement, 4xx a
refusal (``failed``), anything else a transient error that is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shems_optimizer.app.execution.routes import HaCallRefused, HomeAssistantRoute

from .client import HaCallFailed, HomeAssistantClient


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
    """Sends a device command as the service call :func:`service_for` names, through the one client."""

    def __init__(self, client: HomeAssistantClient) -> None:
        self._client = client

    async def call(
        self, route: HomeAssistantRoute, command: str, payload: Mapping[str, Any], correlation_id: str | None
    ) -> None:
        domain, service, data = service_for(route, command, payload)
        await self._client.call_service(domain, service, data, correlation_id)


__all__ = ["HaCallFailed", "HaCallRefused", "HaServiceCaller", "service_for"]
