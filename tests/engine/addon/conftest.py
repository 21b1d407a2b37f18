"""A small stand-in for the Supervisor's HTTP endpoints (the outside world of the add-on)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

SUPERVISOR_TOKEN = "supervisor-token-for-tests"


@dataclass
class StandInSupervisor:
    url: str
    mqtt: dict[str, Any] | None
    discovery: list[dict[str, Any]] = field(default_factory=list)
    unauthorized: int = 0


@pytest.fixture
async def supervisor(mqtt_broker: Any) -> AsyncIterator[StandInSupervisor]:
    state = StandInSupervisor(
        url="",
        mqtt={
            "host": mqtt_broker.host,
            "port": mqtt_broker.port,
            "ssl": False,
            "protocol": "3.1.1",
            "username": "",
            "password": "",
            "addon": "core_mosquitto",
        },
    )

    def authorized(request: web.Request) -> bool:
        ok = request.headers.get("Authorization") == f"Bearer {SUPERVISOR_TOKEN}"
        if not ok:
            state.unauthorized += 1
        return ok

    async def services_mqtt(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.json_response({"result": "error", "message": "unauthorized"}, status=401)
        if state.mqtt is None:
            return web.json_response({"result": "error", "message": "Service not enabled"}, status=400)
        return web.json_response({"result": "ok", "data": state.mqtt})

    async def discovery(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.json_response({"result": "error"}, status=401)
        state.discovery.append(await request.json())
        return web.json_response({"result": "ok", "data": {"uuid": "0123"}})

    app = web.Application()
    app.router.add_get("/services/mqtt", services_mqtt)
    app.router.add_post("/discovery", discovery)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()
