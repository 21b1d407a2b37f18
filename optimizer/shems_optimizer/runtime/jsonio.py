"""JSON encoding for API answers: timezone-aware datetimes as ISO 8601, dataclasses as objects."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from aiohttp import web


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return tolist()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _clean(value: Any) -> Any:
    """JSON has no NaN: a missing number is ``null``, never an invalid token."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return _clean(_default(value))


def dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=_default, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_clean(value), default=_default, allow_nan=False, separators=(",", ":"))


class EncodedJson(dict[str, Any]):
    """A JSON object that also carries its encoding (text and UTF-8 bytes), for answers served many
    times unchanged: serving it again costs no serialisation at all."""

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        self.text = dumps(value)
        self.body = self.text.encode()


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
