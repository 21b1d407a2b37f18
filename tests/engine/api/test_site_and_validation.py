"""Site GET/PUT and input validation: every bad input is a 400 naming the field and the problem."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from shems_optimizer.wiring.testing import RunningService

from .conftest import auth

SITE: dict[str, Any] = {
    "name": "Home",
    "timezone": "Europe/Berlin",
    "currency": "EUR",
    "grid": {"max_import_w": 11000, "max_export_w": 7000},
    "price": {"kind": "fixed", "import_per_kwh": 0.30, "export_per_kwh": 0.08},
    "batteries": [
        {
            "id": "b1",
            "name": "Garage battery",
            "capacity_kwh": 10,
            "max_charge_w": 5000,
            "max_discharge_w": 5000,
            "min_soc_pct": 10,
            "max_soc_pct": 90,
            "efficiency": 0.95,
        }
    ],
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 120}],
}


async def test_site_round_trip_and_survives_restart(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{svc.url}/api/v1/site", headers=auth()) as resp:
        assert resp.status == 404
        assert (await resp.json())["code"] == "no_site"
    async with http.put(f"{svc.url}/api/v1/site", json=SITE, headers=auth()) as resp:
        assert resp.status == 200, await resp.text()
        stored = await resp.json()
    assert stored["batteries"][0]["capacity_kwh"] == 10
    assert stored["evs"] == []  # defaults filled in
    await svc.stop()
    await svc.start()
    async with http.get(f"{svc.url}/api/v1/site", headers=auth()) as resp:
        assert resp.status == 200
        assert await resp.json() == stored


def _with(path: str, value: Any) -> dict[str, Any]:
    site = json.loads(json.dumps(SITE))
    target = site
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[keys[-1]] = value
    return site


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (_with("batteries.0.capacity_kwh", -1), "batteries[0].capacity_kwh", "value must be at least"),
        (_with("batteries.0.max_charge_w", 5), "batteries[0].max_charge_w", "watts"),
        (_with("batteries.0.min_soc_pct", 95), "batteries[0].min_soc_pct", "below max_soc_pct"),
        (_with("batteries.0.efficiency", True), "batteries[0].efficiency", "boolean"),
        (_with("timezone", "Mars/Base"), "timezone", "unknown time zone"),
        (_with("price", {"kind": "spot"}), "price.kind", "entity, fixed or tou"),
        (_with("appliances.0.id", "b1"), "appliances[0].id", "already used"),
        (_with("grid.power_entity", "not an entity"), "grid.power_entity", "entity id"),
    ],
)
async def test_bad_site_is_400_naming_the_field(
    svc: RunningService, http: aiohttp.ClientSession, body: dict[str, Any], field: str, words: str
) -> None:
    async with http.put(f"{svc.url}/api/v1/site", json=body, headers=auth()) as resp:
        assert resp.status == 400
        error = await resp.json()
    assert error["field"] == field
    assert words in error["error"]


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "code"),
    [
        ("PUT", "/api/v1/site", b"{not json", 400, "invalid_json"),
        ("PUT", "/api/v1/site", b'{"grid": {"max_import_w": NaN}}', 400, "invalid_json"),
        ("PUT", "/api/v1/site", b"[]", 400, "invalid_request"),
        ("PUT", "/api/v1/site", b"", 400, "invalid_request"),
        (
            "POST",
            "/api/v1/schedules",
            b'{"appliance_id": "dw", "finish_by": "2026-01-01T07:00:00"}',
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/api/v1/devices",
            b'{"device_id": "-x", "name": "x", "type": "load"}',
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/api/v1/devices",
            b'{"device_id": "m1", "name": "x", "type": "toaster"}',
            400,
            "invalid_request",
        ),
        ("GET", "/api/v1/nothing-here", b"", 404, "not_found"),
        ("DELETE", "/api/v1/site", b"", 405, "method_not_allowed"),
    ],
)
async def test_malformed_requests(
    svc: RunningService,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    raw: bytes,
    status: int,
    code: str,
) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.request(method, f"{svc.url}{path}", data=raw, headers=headers) as resp:
        assert resp.status == status, await resp.text()
        body = await resp.json()
    assert body["code"] == code
    assert body["error"]


async def test_naive_datetime_names_the_field(svc: RunningService, http: aiohttp.ClientSession) -> None:
    body = {"appliance_id": "dw", "finish_by": "2026-01-01T07:00:00"}
    async with http.post(f"{svc.url}/api/v1/schedules", json=body, headers=auth()) as resp:
        error = await resp.json()
    assert error["field"] == "finish_by"
    assert "UTC offset" in error["error"]


async def test_correlation_id_is_echoed(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.get(
        f"{svc.url}/api/v1/status", headers={**auth(), "X-Correlation-ID": "abc-123"}
    ) as resp:
        assert resp.headers["X-Correlation-ID"] == "abc-123"
    async with http.get(
        f"{svc.url}/api/v1/status", headers={**auth(), "X-Correlation-ID": "bad id!"}
    ) as resp:
        assert resp.headers["X-Correlation-ID"] != "bad id!" and len(resp.headers["X-Correlation-ID"]) == 32
