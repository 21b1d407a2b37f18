"""Input validation with voluptuous; every failure becomes a 400 naming the field and the problem."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import voluptuous as vol
from aiohttp import web

from shems_optimizer.runtime.jsonio import JsonRefused, parse_json

from .errors import ApiError

MAX_BODY_BYTES = 1_000_000


def _path(path: list[Any]) -> str:
    return ".".join(str(p) for p in path) if path else "(body)"


def validate(schema: vol.Schema, data: Any, where: str = "body") -> Any:
    """Validate ``data``; raise a 400 ``ApiError`` naming the first field at fault."""
    try:
        return schema(data)
    except vol.MultipleInvalid as err:
        first = err.errors[0]
        field = _path(first.path) if first.path else where
        raise ApiError(400, "invalid_request", f"{where} field {field!r}: {first.msg}", field=field) from err
    except vol.Invalid as err:
        field = _path(err.path) if err.path else where
        raise ApiError(400, "invalid_request", f"{where} field {field!r}: {err.msg}", field=field) from err


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 4xx that says why it is not."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
    raw = await request.read()
    if not raw:
        raise ApiError(400, "invalid_request", "a JSON body is required", field="(body)")
    try:
        return parse_json(raw)
    except JsonRefused as err:
        raise ApiError(400, "invalid_json", f"body field {err.field!r}: {err}", field=err.field) from err
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {err}", field="(body)") from err


# ---------------------------------------------------------------------------------------------------
# Validators that also describe themselves in the OpenAPI document (attribute ``json_schema``).


def described(func: Callable[[Any], Any], json_schema: Mapping[str, Any]) -> Callable[[Any], Any]:
    func.json_schema = dict(json_schema)  # type: ignore[attr-defined]
    return func


def _aware_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        if not isinstance(value, str):
            raise vol.Invalid("expected an ISO 8601 date-time with a UTC offset")
        text = value.strip().replace("Z", "+00:00")
        # An unencoded "+01:00" in a query string arrives as " 01:00".
        if "T" in text and text.count(" ") == 1:
            text = text.replace(" ", "+")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as err:
            raise vol.Invalid(f"not an ISO 8601 date-time: {value!r}") from err
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise vol.Invalid("date-time needs a UTC offset (e.g. 2026-01-31T07:00:00+01:00)")
    if not EARLIEST <= parsed < LATEST:
        raise vol.Invalid(
            f"date-time {value!s:.40} is outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d} (UTC)"
        )
    return parsed


# What the API accepts as an instant: wide enough for any history and plan, narrow enough that a
# day, a week or a time-zone shift added to it never leaves the calendar (year 1 or 9999 would).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


aware_datetime = described(
    _aware_datetime,
    {
        "type": "string",
        "format": "date-time",
        "pattern": r"^(19[7-9][0-9]|2[01][0-9]{2})-",  # the years EARLIEST .. LATEST
        "description": "ISO 8601 with a UTC offset, 1970 .. 2199",
    },
)


def _finite_number(value: Any) -> float:
    if isinstance(value, bool):
        raise vol.Invalid("expected a number, got a boolean")
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        raise vol.Invalid("number too large") from None
    except (TypeError, ValueError) as err:
        raise vol.Invalid(f"expected a number, got {value!r}") from err
    if not math.isfinite(number):
        raise vol.Invalid("expected a finite number")
    return number


finite_number = described(_finite_number, {"type": "number"})

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not _IDENT.match(value):
        raise vol.Invalid(
            "expected 1-64 characters: letters, digits, '_', '.', ':' or '-', not starting with a symbol"
        )
    return value


identifier = described(
    _identifier, {"type": "string", "pattern": _IDENT.pattern, "minLength": 1, "maxLength": 64}
)

_TOPIC_FORBIDDEN = re.compile(r"[#+\x00]")


def _mqtt_topic(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 256:
        raise vol.Invalid("expected an MQTT topic of 1-256 characters")
    if _TOPIC_FORBIDDEN.search(value):
        raise vol.Invalid("an MQTT topic to publish or answer on cannot contain '#', '+' or NUL")
    return value


mqtt_topic = described(
    _mqtt_topic, {"type": "string", "minLength": 1, "maxLength": 256, "pattern": r"^[^#+\x00]+$"}
)


def _int_text(value: Any) -> int:
    if isinstance(value, bool):
        raise vol.Invalid("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
        return int(value)
    raise vol.Invalid(f"expected an integer, got {value!r}")


integer = described(_int_text, {"type": "integer"})
