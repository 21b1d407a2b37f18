"""Pieces shared by the route modules: path-parameter checks and small JSON Schemas."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from aiohttp import web

from ..validation import identifier, validate

OBJECT: dict[str, Any] = {"type": "object"}
NULLABLE_OBJECT: dict[str, Any] = {"type": ["object", "null"]}
TIMESTAMP: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}


_IDENTIFIER = vol.Schema(identifier)  # compiled once: this runs on every request with an id


def path_id(request: web.Request, name: str) -> str:
    value: str = validate(_IDENTIFIER, request.match_info[name], where=name)
    return value


def array_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}
