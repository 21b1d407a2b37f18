"""The WebSocket stream and structured JSON logs with correlation ids."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp

from shems_optimizer.runtime.logs import JsonFormatter, correlation
from shems_optimizer.wiring.testing import RunningService, running_service

from .conftest import TOKEN, auth
from .test_site_and_validation import SITE


async def _next(ws: aiohttp.ClientWebSocketResponse, wanted: str) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event: dict[str, Any] = json.loads(msg.data)
        if event["type"] == wanted:
            return event


async def test_stream_hello_and_status_events(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(f"{svc.url}/api/v1/stream", headers=auth()) as ws:
        hello = await _next(ws, "hello")
        assert hello["data"]["instance_id"] == svc.instance_id
        async with http.put(f"{svc.url}/api/v1/site", json=SITE, headers=auth()) as resp:
            assert resp.status == 200
        # a new site triggers a re-plan; the status events say it runs and how it ended
        status = await _next(ws, "status")
        assert status["data"]["optimizer"] in ("running", "idle", "failed")


async def test_stream_needs_token(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{svc.url}/api/v1/stream") as resp:
        assert resp.status == 401
    async with http.ws_connect(f"{svc.url}/api/v1/stream?access_token={TOKEN}") as ws:
        assert (await _next(ws, "hello"))["type"] == "hello"


async def test_plain_get_on_stream_is_400(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{svc.url}/api/v1/stream", headers=auth()) as resp:
        assert resp.status == 400


def test_json_log_line_carries_correlation_id_and_hides_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("shems_optimizer.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with correlation("cid-42"):
            logger.info("command sent", extra={"device_id": "dw", "token": "secret-value"})
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["correlation_id"] == "cid-42"
    assert first["message"] == "command sent" and first["device_id"] == "dw"
    assert first["token"] == "***"
    assert first["level"] == "info" and first["time"].endswith("+00:00")
    assert "correlation_id" not in second


async def test_a_not_ready_answer_is_not_logged_as_an_error(tmp_path: Path, caplog: Any) -> None:
    """Readiness answers 503 on purpose (here: the MQTT broker cannot be reached) and the integration
    polls it: that answer is not a server error, so the access log must not say ERROR for it."""
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with (
        running_service(tmp_path, mqtt_host="127.0.0.1", mqtt_port=closed_port) as svc,
        aiohttp.ClientSession() as http,
    ):
        with caplog.at_level(logging.DEBUG, logger="shems_optimizer.api"):
            deadline = time.monotonic() + 30
            status = 0
            while status != 503 and time.monotonic() < deadline:
                async with http.get(f"{svc.url}/api/v1/health/ready") as resp:
                    status = resp.status
                if status != 503:
                    await asyncio.sleep(0.1)
    assert status == 503, "readiness did not name the unreachable broker"
    access = [r for r in caplog.records if r.getMessage() == "GET /api/v1/health/ready -> 503"]
    assert access and all(record.levelno < logging.ERROR for record in access), access
