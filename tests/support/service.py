"""The service run in-process for a test, with an HTTP session that carries its token, and the API calls
many tests begin with: register a device, wait until its telemetry is subscribed, put a site and plan.

The calls take the service's base URL, so that they serve the in-process service (``svc.url``) and a
``shems-optimizer serve`` child process alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from shems_optimizer.adapters.ingest.telemetry import TelemetryService
from shems_optimizer.wiring.testing import RunningService, running_service

from .processes import Alive, until


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def serving(
    data_dir: Path, token: str, *, broker: Any = None, **options: Any
) -> AsyncIterator[tuple[RunningService, aiohttp.ClientSession]]:
    """The service started with ``token`` and ``options`` (on the MQTT ``broker``, given its host and
    port), and a client session whose every request carries the token."""
    if broker is not None:
        options.update(mqtt_host=broker.host, mqtt_port=broker.port)
    async with (
        running_service(data_dir, token=token, **options) as svc,
        aiohttp.ClientSession(headers=bearer(token)) as http,
    ):
        yield svc, http


async def until_answering(
    http: aiohttp.ClientSession, url: str, *, timeout_s: float, alive: Sequence[Alive] = ()
) -> None:
    """Until a GET of ``url`` answers 200: a service that is still starting refuses the connection."""

    async def answers() -> bool:
        async with http.get(url) as resp:
            return resp.status == 200

    await until(answers, timeout_s=timeout_s, what=f"{url} to answer", interval_s=0.1, alive=alive)


async def register_device(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """Register a device through the API; return the device as the API answers it."""
    async with http.post(f"{url}/api/v1/devices", json=body) as resp:
        assert resp.status == 201, await resp.text()
        device: dict[str, Any] = await resp.json()
        return device


async def register_appliance(http: aiohttp.ClientSession, url: str, device_id: str) -> dict[str, Any]:
    """An appliance named after its id (``dishwasher``: "Dishwasher"), commanded over MQTT."""
    return await register_device(
        http, url, {"device_id": device_id, "name": device_id.title(), "type": "appliance"}
    )


async def subscribed_telemetry(svc: RunningService, timeout_s: float = 15) -> TelemetryService:
    """The service's telemetry once it listens on the state topics of every registered device."""
    assert svc.service is not None and svc.service.telemetry is not None
    telemetry = svc.service.telemetry

    async def subscribed() -> bool:
        return telemetry.health() == (True, "subscribed")

    await until(subscribed, timeout_s=timeout_s, what="telemetry subscribed", interval_s=0.05)
    return telemetry


async def register_telemetry_device(
    svc: RunningService, http: aiohttp.ClientSession, body: dict[str, Any]
) -> TelemetryService:
    """Register a device that reports on its MQTT state topic; return the telemetry once it listens."""
    await register_device(http, svc.url, body)
    return await subscribed_telemetry(svc)


async def put_site(http: aiohttp.ClientSession, url: str, site: dict[str, Any], **request: Any) -> None:
    async with http.put(f"{url}/api/v1/site", json=site, **request) as resp:
        assert resp.status == 200, await resp.text()


async def optimize(http: aiohttp.ClientSession, url: str, **request: Any) -> dict[str, Any]:
    """Ask for a plan now; return it."""
    async with http.post(f"{url}/api/v1/optimize", **request) as resp:
        assert resp.status == 200, await resp.text()
        plan: dict[str, Any] = await resp.json()
        return plan


async def plan_for(
    http: aiohttp.ClientSession, url: str, site: dict[str, Any], **request: Any
) -> dict[str, Any]:
    """Put ``site`` and return the plan made for it (``request``: e.g. ``headers=``, for both calls)."""
    await put_site(http, url, site, **request)
    return await optimize(http, url, **request)
