"""A small stand-in for Home Assistant's WebSocket API (HA is the outside world for the engine).

It speaks HA's real message shapes: ``auth_required`` / ``auth`` / ``auth_ok`` | ``auth_invalid``,
``get_states``, ``subscribe_trigger`` (state trigger; events carry ``variables.trigger.to_state``),
``recorder/get_statistics_metadata`` and ``recorder/statistics_during_period`` (hourly rows with
``start``/``end`` in Unix milliseconds). Tests change states with :meth:`FakeHomeAssistant.set_state`
and can drop every connection with :meth:`FakeHomeAssistant.drop_connections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

HA_VERSION = "2026.2.3"


@dataclass
class _Subscription:
    ws: web.WebSocketResponse
    message_id: int
    entities: set[str]


@dataclass
class FakeHomeAssistant:
    token: str = "good-token"
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    statistics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statistics_units: dict[str, str] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    _subscriptions: list[_Subscription] = field(default_factory=list)
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)
    _server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/websocket", self._websocket)
        self._server = TestServer(app)
        await self._server.start_server()
        return f"ws://127.0.0.1:{self._server.port}/api/websocket"

    async def close(self) -> None:
        await self.drop_connections()
        if self._server is not None:
            await self._server.close()

    async def drop_connections(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._subscriptions.clear()

    @staticmethod
    def state(entity_id: str, value: str, unit: str | None) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        attributes: dict[str, Any] = {"friendly_name": entity_id}
        if unit is not None:
            attributes["unit_of_measurement"] = unit
        return {
            "entity_id": entity_id,
            "state": value,
            "attributes": attributes,
            "last_changed": now,
            "last_reported": now,
            "last_updated": now,
            "context": {"id": "01J0000000000000000000000", "parent_id": None, "user_id": None},
        }

    async def set_state(self, entity_id: str, value: str, unit: str | None = "W") -> None:
        old = self.states.get(entity_id)
        new = self.state(entity_id, value, unit)
        self.states[entity_id] = new
        for sub in list(self._subscriptions):
            if entity_id in sub.entities and not sub.ws.closed:
                await sub.ws.send_json(
                    {
                        "id": sub.message_id,
                        "type": "event",
                        "event": {
                            "variables": {
                                "trigger": {
                                    "id": "0",
                                    "idx": "0",
                                    "alias": None,
                                    "platform": "state",
                                    "entity_id": entity_id,
                                    "from_state": old,
                                    "to_state": new,
                                    "for": None,
                                    "attribute": None,
                                    "description": f"state of {entity_id}",
                                }
                            },
                            "context": new["context"],
                        },
                    }
                )

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await ws.send_json({"type": "auth_required", "ha_version": HA_VERSION})
            auth = await ws.receive_json()
            if auth.get("type") != "auth" or auth.get("access_token") != self.token:
                await ws.send_json({"type": "auth_invalid", "message": "Invalid access token or password"})
                await ws.close()
                return ws
            await ws.send_json({"type": "auth_ok", "ha_version": HA_VERSION})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                await self._handle(ws, msg.json())
        finally:
            self._sockets.discard(ws)
        return ws

    async def _handle(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        self.received.append(message)
        mid, kind = message["id"], message["type"]
        if kind == "get_states":
            await self._result(ws, mid, list(self.states.values()))
        elif kind == "subscribe_trigger":
            trigger = message["trigger"]
            entities = trigger["entity_id"]
            self._subscriptions.append(
                _Subscription(ws, mid, set([entities] if isinstance(entities, str) else entities))
            )
            await self._result(ws, mid, None)
        elif kind == "recorder/get_statistics_metadata":
            ids = message.get("statistic_ids") or list(self.statistics)
            await self._result(
                ws,
                mid,
                [
                    {
                        "statistic_id": sid,
                        "display_unit_of_measurement": self.statistics_units.get(sid),
                        "statistics_unit_of_measurement": self.statistics_units.get(sid),
                        "has_mean": "mean" in (self.statistics.get(sid) or [{}])[0],
                        "has_sum": "sum" in (self.statistics.get(sid) or [{}])[0],
                        "name": None,
                        "source": "recorder",
                        "unit_class": None,
                    }
                    for sid in ids
                    if sid in self.statistics
                ],
            )
        elif kind == "recorder/statistics_during_period":
            start = datetime.fromisoformat(message["start_time"]).timestamp() * 1000
            end = datetime.fromisoformat(message["end_time"]).timestamp() * 1000
            result = {
                sid: [row for row in self.statistics.get(sid, []) if start <= row["start"] < end]
                for sid in message["statistic_ids"]
            }
            await self._result(ws, mid, {k: v for k, v in result.items() if v})
        else:
            await ws.send_json(
                {
                    "id": mid,
                    "type": "result",
                    "success": False,
                    "error": {"code": "unknown_command", "message": "Unknown command."},
                }
            )

    @staticmethod
    async def _result(ws: web.WebSocketResponse, mid: int, result: Any) -> None:
        await ws.send_json({"id": mid, "type": "result", "success": True, "result": result})
