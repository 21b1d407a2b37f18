"""JSON answers of the API, from values encoded once by :mod:`shems_optimizer.runtime.jsonio`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shems_optimizer.runtime.jsonio import EncodedJson, dumps


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = value.body if isinstance(value, EncodedJson) else dumps(value).encode()
    return json_bytes_response(body, status=status, headers=headers)


def json_bytes_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """An answer from already encoded JSON (``Content-Type: application/json; charset=utf-8``)."""
    return web.Response(
        body=body, status=status, content_type="application/json", charset="utf-8", headers=headers
    )
