"""The leaf validators of the site document: entity ids, times, numbers, powers in W, ids.

Each says in its error what it expected, and carries the JSON Schema the OpenAPI document shows for it
(:func:`describes`, read by ``api/site_schemas.py``).
"""

from __future__ import annotations

import math
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import voluptuous as vol

from shems_optimizer.core.model.calendar import country_code
from shems_optimizer.core.model.errors import ConfigError

ENTITY = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


def describes(func: Any, **json_schema: Any) -> None:
    """How the OpenAPI document describes a validator function (see api/site_schemas.py)."""
    func.json_schema = json_schema


def entity(value: Any) -> str:
    if not isinstance(value, str) or not ENTITY.match(value):
        raise vol.Invalid(f"expected a Home Assistant entity id like sensor.grid_power, got {value!r}")
    return value


def optional_entity(value: Any) -> str | None:
    return None if value is None or value == "" else entity(value)


def timezone_name(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise vol.Invalid("expected an IANA time zone name such as Europe/Berlin")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise vol.Invalid(f"unknown time zone {value!r}") from err
    return value


def clock_time(value: Any) -> str:
    if not isinstance(value, str) or not HHMM.match(value):
        raise vol.Invalid(f"expected a time of day HH:MM, got {value!r}")
    return value


def month_day(value: Any) -> str:
    if not isinstance(value, str) or not MMDD.match(value):
        raise vol.Invalid(f"expected a date MM-DD, got {value!r}")
    return value


def country(value: Any) -> str | None:
    try:
        return country_code("country", value)
    except ConfigError as err:
        raise vol.Invalid(err.problem) from err


def number_in(low: float, high: float) -> Any:
    return vol.All(finite, vol.Range(min=low, max=high))


def reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise vol.Invalid("expected a number, got a boolean")
    return value


def finite(value: Any) -> float:
    """A JSON number as a finite float: booleans, NaN, infinities and floats' overflow refused."""
    if isinstance(value, bool):
        raise vol.Invalid("expected a number, got a boolean")
    if not isinstance(value, int | float):
        raise vol.Invalid(f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError as err:
        raise vol.Invalid("number too large") from err
    if not math.isfinite(number):
        raise vol.Invalid("expected a finite number")
    return number


def watts(low: float = 0.0, high: float = 1_000_000.0) -> Any:
    """A power in W; values under 100 are almost surely kW and are refused with that hint."""

    def check(value: Any) -> float:
        number = number_in(low, high)(value)
        if 0 < number < 100:
            raise vol.Invalid(f"{number:g} W is implausibly small: this field is in watts (kW × 1000)")
        return float(number)

    describes(check, type="number", minimum=low, maximum=high, description="watts (not kW)")
    return check


def asset_id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 100:
        raise vol.Invalid("expected an id of 1-100 characters")
    return value
