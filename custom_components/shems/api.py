"""Typed client of the SHEMS add-on's REST API and WebSocket stream.

The integration talks to the add-on only through this module, always on Home Assistant's shared aiohttp
session, so a connection problem, a rejected token and a malformed answer each surface as their own
exception that the config flow, coordinator and services translate for the user.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
from yarl import URL

from .models import (
    DeviceList,
    Health,
    PayloadError,
    Plan,
    Readiness,
    Status,
    parse_devices,
    parse_health,
    parse_plan,
    parse_readiness,
    parse_status,
)

API_PREFIX = "/api/v1"
REQUEST_TIMEOUT_S = 10.0
PLANNING_TIMEOUT_S = 120.0


class ShemsError(Exception):
    """Base error of the add-on client."""


class ShemsConnectionError(ShemsError):
    """The add-on cannot be reached (refused, timed out, DNS, TLS)."""


class ShemsAuthError(ShemsError):
    """The add-on rejected the token (HTTP 401/403)."""


class ShemsResponseError(ShemsError):
    """The add-on answered with an error status or a payload this client cannot read."""

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def normalize_url(raw: str) -> str:
    """Return the add-on's base URL without trailing slash; raise ValueError when it is not http(s)."""
    text = raw.strip()
    if "://" not in text:
        text = f"http://{text}"
    url = URL(text)
    if url.scheme not in ("http", "https") or not url.host or url.user is not None:
        raise ValueError(f"not an http(s) URL: {raw!r}")
    return str(url.with_query(None).with_fragment(None)).rstrip("/")


@contextmanager
def _payload_errors() -> Iterator[None]:
    try:
        yield
    except PayloadError as err:
        raise ShemsResponseError(str(err)) from err


class ShemsClient:
    """One add-on instance at ``base_url``, authenticated with a bearer token."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._session = session
        self.base_url = normalize_url(base_url)
        self._token = token

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Any = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
        accept: tuple[int, ...] = (),
    ) -> Any:
        """Send one request and return its decoded JSON body (None for an empty body); an error status
        in ``accept`` is an answer too (readiness says 503 with a body naming the problems)."""
        try:
            async with self._session.request(
                method,
                self._url(path),
                params=params,
                json=payload,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                body = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise ShemsConnectionError(f"{method} {path}: {err or type(err).__name__}") from err
        if status in (401, 403):
            raise ShemsAuthError(f"{method} {path}: HTTP {status}")
        decoded: Any = None
        if body:
            try:
                decoded = json.loads(body)
            except ValueError as err:
                raise ShemsResponseError(
                    f"{method} {path}: HTTP {status} with a body that is not JSON", status=status
                ) from err
        if status >= 400 and status not in accept:
            message = f"HTTP {status}"
            field: str | None = None
            if isinstance(decoded, dict):
                detail = decoded.get("error") or decoded.get("message") or decoded.get("detail")
                if detail:
                    message = str(detail)
                raw_field = decoded.get("field")
                field = str(raw_field) if raw_field is not None else None
            raise ShemsResponseError(message, status=status, field=field)
        return decoded

    # -- typed reads used by the coordinator and the config flow ----------------------------------

    async def health(self) -> Health:
        raw = await self.request("GET", "/health")
        with _payload_errors():
            return parse_health(raw)

    async def readiness(self) -> Readiness | None:
        """What the add-on reports wrong; ``None`` from an add-on without a readiness endpoint."""
        try:
            raw = await self.request("GET", "/health/ready", accept=(503,))
        except ShemsResponseError as err:
            if err.status == 404:
                return None
            raise
        with _payload_errors():
            return parse_readiness(raw)

    async def verify(self) -> Health:
        """Health (public) plus one authenticated read, so a wrong token is caught before saving."""
        health = await self.health()
        await self.status()
        return health

    async def status(self) -> Status:
        raw = await self.request("GET", "/status")
        with _payload_errors():
            return parse_status(raw)

    async def plan(self) -> Plan | None:
        """The current plan, or None when the add-on has not planned yet."""
        try:
            raw = await self.request("GET", "/plan")
        except ShemsResponseError as err:
            if err.status == 404:
                return None
            raise
        with _payload_errors():
            return parse_plan(raw)

    async def devices(self) -> DeviceList:
        raw = await self.request("GET", "/devices")
        with _payload_errors():
            return parse_devices(raw)

    # -- writes and service calls -----------------------------------------------------------------

    async def put_site(self, site: Mapping[str, Any]) -> None:
        await self.request("PUT", "/site", payload=dict(site))

    async def optimize(self) -> Plan:
        raw = await self.request("POST", "/optimize", timeout_s=PLANNING_TIMEOUT_S)
        with _payload_errors():
            plan = parse_plan(raw)
        if plan is None:
            raise ShemsResponseError("the add-on returned no plan")
        return plan

    async def raw(self, method: str, path: str, **kwargs: Any) -> Any:
        """Pass-through for service calls whose answer goes back to the caller as it is."""
        return await self.request(method, path, **kwargs)

    # -- live updates -------------------------------------------------------------------------------

    async def stream(self, heartbeat_s: float = 30.0) -> AsyncIterator[dict[str, Any]]:
        """Yield ``{"type": "connected"}`` once connected, then the stream's JSON messages until it closes."""
        ws_url = self._url("/stream").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        try:
            ws = await self._session.ws_connect(ws_url, headers=self._headers, heartbeat=heartbeat_s)
        except aiohttp.WSServerHandshakeError as err:
            if err.status in (401, 403):
                raise ShemsAuthError(f"stream: HTTP {err.status}") from err
            raise ShemsConnectionError(f"stream: {err}") from err
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise ShemsConnectionError(f"stream: {err or type(err).__name__}") from err
        try:
            yield {"type": "connected"}
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                try:
                    decoded = json.loads(msg.data)
                except ValueError:
                    continue
                if isinstance(decoded, dict):
                    yield decoded
        finally:
            await ws.close()
