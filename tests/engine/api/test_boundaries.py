"""Hostile input at every boundary gets a 4xx naming the field, never a 500, and changes nothing.

Each case is one of the probes that used to answer 500 or silently accept nonsense: JSON nested
100,000 deep, a 401-digit capacity, ``1e999`` (which Python's parser reads as infinity), dates in
year 1 or 9999, a granularity the stores cannot serve, typo'd site keys, and a NUL character in a
text (which PostgreSQL cannot store).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.app.config import StorageConfig
from shems_optimizer.wiring.testing import RunningService, running_service

from .conftest import TOKEN, auth
from .test_site_and_validation import SITE, _with

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 5_000 + b"1" + b"}" * 5_000


async def _send(
    http: aiohttp.ClientSession, method: str, url: str, raw: bytes, **kw: Any
) -> tuple[int, dict[str, Any]]:
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.request(method, url, data=raw, headers=headers, **kw) as resp:
        return resp.status, await resp.json()


async def _with_device(svc: RunningService, http: aiohttp.ClientSession) -> None:
    device = {"device_id": "heater", "name": "Heater", "type": "load", "ha_entity_id": "switch.heater"}
    async with http.post(f"{svc.url}/api/v1/devices", json=device, headers=auth()) as resp:
        assert resp.status == 201, await resp.text()


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/site"),
        ("POST", "/api/v1/devices"),
        ("POST", "/api/v1/schedules"),
        ("POST", "/api/v1/devices/heater/commands"),
    ],
)
async def test_deeply_nested_json_is_refused(
    svc: RunningService, http: aiohttp.ClientSession, method: str, path: str, raw: bytes
) -> None:
    await _with_device(svc, http)
    status, body = await _send(http, method, f"{svc.url}{path}", raw)
    assert status == 400, body
    assert body["code"] == "invalid_json"
    assert "nested deeper than 32 levels" in body["error"]


async def test_nesting_inside_a_command_payload_is_refused_too(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    await _with_device(svc, http)
    payload = b'{"command": "set", "payload": {"x": ' + b"[" * 40 + b"]" * 40 + b"}}"
    status, body = await _send(http, "POST", f"{svc.url}/api/v1/devices/heater/commands", payload)
    assert status == 400 and "nested deeper" in body["error"], body
    async with http.get(f"{svc.url}/api/v1/devices/heater/commands", headers=auth()) as resp:
        assert (await resp.json())["commands"] == []  # nothing recorded


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"batteries": [{"capacity_kwh": 1' + b"0" * 400 + b"}]}", "batteries[0].capacity_kwh"),
        (b'{"grid": {"max_import_w": 1e999}}', "grid.max_import_w"),
        (b'{"grid": {"max_import_w": -1e400}}', "grid.max_import_w"),
        (b'{"price": {"kind": "fixed", "import_per_kwh": 12345678901234567}}', "price.import_per_kwh"),
    ],
)
async def test_huge_numbers_in_the_site_name_their_field(
    svc: RunningService, http: aiohttp.ClientSession, raw: bytes, field: str
) -> None:
    status, body = await _send(http, "PUT", f"{svc.url}/api/v1/site", raw)
    assert status == 400, body
    assert body["field"] == field
    async with http.get(f"{svc.url}/api/v1/site", headers=auth()) as resp:
        assert resp.status == 404  # nothing stored


async def test_infinite_command_payload_is_refused_not_sent_as_null(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    await _with_device(svc, http)
    url = f"{svc.url}/api/v1/devices/heater/commands"
    status, body = await _send(http, "POST", url, b'{"command": "set_power", "payload": {"w": 1e999}}')
    assert status == 400, body
    assert body["field"] == "payload.w"
    assert "beyond the range" in body["error"]
    async with http.get(url, headers=auth()) as resp:
        assert (await resp.json())["commands"] == []


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (
            "/api/v1/consumption",
            {"start": "0001-01-01T00:00:00+01:00", "end": "0001-01-02T00:00:00+01:00"},
            "start",
        ),
        ("/api/v1/consumption", {"start": "2026-01-01T00:00:00Z", "end": "9999-12-31T23:59:59-01:00"}, "end"),
        ("/api/v1/predictions", {"start": "9999-12-31T00:00:00+00:00"}, "start"),
        ("/api/v1/predictions", {"start": "0001-01-01T00:00:00+01:00"}, "start"),
    ],
)
async def test_dates_at_the_ends_of_the_calendar_are_refused(
    svc: RunningService, http: aiohttp.ClientSession, path: str, query: dict[str, str], field: str
) -> None:
    async with http.put(f"{svc.url}/api/v1/site", json=SITE, headers=auth()) as resp:
        assert resp.status == 200
    async with http.get(f"{svc.url}{path}", params=query, headers=auth()) as resp:
        body = await resp.json()
        assert resp.status == 400, body
    assert body["field"] == field
    assert "outside 1970-01-01 .. 2200-01-01" in body["error"]


async def test_raw_granularity_is_not_offered(svc: RunningService, http: aiohttp.ClientSession) -> None:
    query = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "granularity": "raw"}
    async with http.get(f"{svc.url}/api/v1/consumption", params=query, headers=auth()) as resp:
        body = await resp.json()
        assert resp.status == 400, body
    assert body["field"] == "granularity"
    async with http.get(f"{svc.url}/api/v1/openapi.json") as resp:
        document = await resp.json()
    parameters = document["paths"]["/api/v1/consumption"]["get"]["parameters"]
    granularity = next(p for p in parameters if p["name"] == "granularity")
    assert "raw" not in granularity["schema"]["enum"]


@pytest.mark.parametrize(
    ("path", "value", "field", "hint"),
    [
        ("batteries.0.min_soc", 20, "batteries[0].min_soc", "'min_soc_pct'"),
        ("batteriez", [], "batteriez", "'batteries'"),
        ("grid.max_import", 9000, "grid.max_import", "'max_import_w'"),
        ("appliances.0.finishby", "07:00", "appliances[0].finishby", "'finish_by'"),
    ],
)
async def test_unknown_site_keys_are_refused_by_name(
    svc: RunningService, http: aiohttp.ClientSession, path: str, value: Any, field: str, hint: str
) -> None:
    async with http.put(f"{svc.url}/api/v1/site", json=_with(path, value), headers=auth()) as resp:
        body = await resp.json()
        assert resp.status == 400, body
    assert body["field"] == field
    assert f"unknown key {field.rsplit('.', 1)[-1]!r}" in body["error"]
    assert f"did you mean {hint}" in body["error"]


async def test_a_stored_site_read_back_can_be_sent_again(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    async with http.put(f"{svc.url}/api/v1/site", json=SITE, headers=auth()) as resp:
        stored = await resp.json()
    assert "updated_at" in stored
    async with http.put(f"{svc.url}/api/v1/site", json=stored, headers=auth()) as resp:
        assert resp.status == 200, await resp.text()


@pytest.fixture
async def svc_timescale(tmp_path: Path, timescale_dsn: str) -> AsyncIterator[RunningService]:
    storage = StorageConfig(kind="timescaledb", dsn=timescale_dsn)
    async with running_service(tmp_path / "data", token=TOKEN, storage=storage) as running:
        yield running


@pytest.mark.parametrize(
    ("method", "path", "raw", "field"),
    [
        ("POST", "/api/v1/devices", b'{"device_id": "d1", "name": "He\\u0000ater", "type": "load"}', "name"),
        ("POST", "/api/v1/devices", b'{"device_id": "d1", "type": "load", "firmware\\u0000": "1"}', "(body)"),
        ("PUT", "/api/v1/site", b'{"timezone": "Europe/Berlin", "batteries": [{"name": "\\u0000"}]}',
         "batteries[0].name"),
    ],
)  # fmt: skip
async def test_a_nul_character_in_a_text_is_refused_by_field(
    svc_timescale: RunningService, http: aiohttp.ClientSession, method: str, path: str, raw: bytes, field: str
) -> None:
    """PostgreSQL text cannot hold U+0000 (the TimescaleDB store answered 500): refused at the edge."""
    status, body = await _send(http, method, f"{svc_timescale.url}{path}", raw)
    assert status == 400, body
    assert body["field"] == field and "U+0000" in body["error"], body
    async with http.get(f"{svc_timescale.url}/api/v1/devices", headers=auth()) as resp:
        assert [d["device_id"] for d in (await resp.json())["devices"]] == []
