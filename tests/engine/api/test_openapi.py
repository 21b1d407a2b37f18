"""The OpenAPI document and the router describe exactly the same endpoints."""

from __future__ import annotations

import re

import aiohttp
import voluptuous as vol

from shems_optimizer.api.openapi import document_paths
from shems_optimizer.api.schema_doc import to_json_schema
from shems_optimizer.api.validation import described
from shems_optimizer.wiring.testing import RunningService


def _router_paths(svc: RunningService) -> set[tuple[str, str]]:
    assert svc.service is not None and svc.service.app is not None
    pairs = set()
    for route in svc.service.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or ""
        if route.method == "HEAD" or not path.startswith("/api/"):
            continue
        pairs.add((route.method, re.sub(r"\{([^}:]+):[^}]*\}", r"{\1}", path)))
    return pairs


async def test_every_route_documented_and_every_documented_route_served(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{svc.url}/api/v1/openapi.json") as resp:
        document = await resp.json()
    documented = document_paths(document)
    served = _router_paths(svc)
    assert served == documented
    # the core the integration relies on is there
    for pair in [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/site"),
        ("PUT", "/api/v1/site"),
        ("GET", "/api/v1/plan"),
        ("POST", "/api/v1/optimize"),
        ("GET", "/api/v1/stream"),
        ("POST", "/api/v1/devices/{device_id}/commands"),
    ]:
        assert pair in documented


async def test_document_is_well_formed(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{svc.url}/api/v1/openapi.json") as resp:
        document = await resp.json()
    operation_ids = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            operation_ids.append(op["operationId"])
            assert op["responses"], f"{method} {path} documents no answer"
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{([^}]+)\}", path)), f"{method} {path}"
            if op.get("security") != []:
                assert "401" in op["responses"], f"{method} {path} needs a token but documents no 401"
    assert len(operation_ids) == len(set(operation_ids))
    schedule = document["paths"]["/api/v1/schedules"]["post"]["requestBody"]["content"]["application/json"]
    assert schedule["schema"]["required"] == ["appliance_id", "finish_by"]
    assert schedule["schema"]["properties"]["finish_by"]["format"] == "date-time"
    assert schedule["schema"]["additionalProperties"] is False


def test_schemas_are_described_as_enforced() -> None:
    # voluptuous-openapi converts; objects stay closed, length bounds get their JSON Schema names.
    moment = described(lambda value: value, {"type": "string", "format": "date-time"})
    schema = vol.Schema(
        {
            vol.Required("name", description="who"): vol.All(str, vol.Length(min=1, max=10)),
            vol.Optional("at"): moment,
            vol.Optional("tags", default=list): vol.All([str], vol.Length(min=1, max=3)),
            vol.Optional("payload", default=dict): vol.All(dict, vol.Length(max=5)),
            vol.Optional("inner"): {vol.Optional("n"): vol.All(int, vol.Range(min=0))},
            vol.Optional("kind"): vol.In(("a", "b")),
        }
    )
    assert to_json_schema(schema) == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 10, "description": "who"},
            "at": {"type": "string", "format": "date-time"},
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": 3,
                "default": [],
            },
            "payload": {"type": "object", "maxProperties": 5, "default": {}},
            "inner": {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 0}},
                "additionalProperties": False,
            },
            "kind": {"type": "string", "enum": ["a", "b"]},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    assert to_json_schema(vol.Schema({"x": int}, extra=vol.ALLOW_EXTRA))["additionalProperties"] is True
