"""Talk to a real Home Assistant as its frontend does: onboarding and login over REST, flows over REST,
everything else over the WebSocket API.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

OWNER = {"name": "Alex Lindner", "username": "alex", "password": "journey-secret-7", "language": "en"}


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


class HomeAssistantApi:
    """REST and WebSocket calls with the owner's access token, on one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.token = token
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> Any:
        async with self.session.get(self.url + path, headers=self.headers) as resp:
            body = await resp.text()
            assert resp.status == 200, f"GET {path}: {resp.status} {body[:500]}"
            return json.loads(body)

    async def post(self, path: str, payload: Any, *, expect: int = 200) -> Any:
        async with self.session.post(self.url + path, headers=self.headers, json=payload) as resp:
            body = await resp.text()
            assert resp.status == expect, f"POST {path}: {resp.status} {body[:1000]}"
            return json.loads(body) if body else None

    async def delete(self, path: str) -> Any:
        async with self.session.delete(self.url + path, headers=self.headers) as resp:
            body = await resp.text()
            assert resp.status == 200, f"DELETE {path}: {resp.status} {body[:500]}"
            return json.loads(body) if body else None

    async def ws(self, message_type: str, **fields: Any) -> Any:
        """One WebSocket command; returns its result or fails with Home Assistant's error."""
        if self._ws is None or self._ws.closed:
            self._ws = await self.session.ws_connect(self.url + "/api/websocket", max_msg_size=0)
            hello = await self._ws.receive_json()
            assert hello["type"] == "auth_required", hello
            await self._ws.send_json({"type": "auth", "access_token": self.token})
            answer = await self._ws.receive_json()
            assert answer["type"] == "auth_ok", answer
        message_id = next(self._ids)
        await self._ws.send_json({"id": message_id, "type": message_type, **fields})
        while True:
            reply = await self._ws.receive_json(timeout=120)
            if reply.get("id") == message_id and reply.get("type") == "result":
                assert reply["success"], f"{message_type}: {reply.get('error')}"
                return reply["result"]

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    # -- flows as the UI sends them ---------------------------------------------------------------

    async def flow_start(self, handler: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.post(
            "/api/config/config_entries/flow", {"handler": handler, "show_advanced_options": False}
        )
        return result

    async def flow_step(self, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.post(f"/api/config/config_entries/flow/{flow_id}", data)
        return result

    async def subentry_start(self, entry_id: str, subentry_type: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.post(
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, subentry_type], "show_advanced_options": False},
        )
        return result

    async def subentry_step(self, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.post(
            f"/api/config/config_entries/subentries/flow/{flow_id}", data
        )
        return result

    # -- states and registries --------------------------------------------------------------------

    async def states(self) -> dict[str, dict[str, Any]]:
        return {state["entity_id"]: state for state in await self.get("/api/states")}

    async def call_service(
        self, domain: str, service: str, data: dict[str, Any], *, response: bool = False
    ) -> Any:
        return await self.ws(
            "call_service", domain=domain, service=service, service_data=data, return_response=response
        )


def client_id(url: str) -> str:
    """The frontend's OAuth client id: the address it is served from (so the browser can refresh)."""
    return url.rstrip("/") + "/"


async def onboard(session: aiohttp.ClientSession, url: str) -> Tokens:
    """Create the owner and finish every onboarding step, as the onboarding pages do; return tokens."""
    client = client_id(url)
    async with session.post(f"{url}/api/onboarding/users", json={**OWNER, "client_id": client}) as resp:
        assert resp.status == 200, await resp.text()
        code = (await resp.json())["auth_code"]
    tokens = await _token(session, url, {"grant_type": "authorization_code", "code": code})
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    for step, payload in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": client, "redirect_uri": f"{client}?auth_callback=1"}),
    ):
        async with session.post(f"{url}/api/onboarding/{step}", json=payload, headers=headers) as resp:
            assert resp.status == 200, f"onboarding {step}: {resp.status} {await resp.text()}"
    return tokens


async def _token(session: aiohttp.ClientSession, url: str, form: dict[str, str]) -> Tokens:
    async with session.post(f"{url}/auth/token", data={**form, "client_id": client_id(url)}) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    return Tokens(body["access_token"], body["refresh_token"], int(body["expires_in"]))
