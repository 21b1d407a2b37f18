"""Read a price forecast from the state of a price integration's entity.

Price integrations publish the coming hours as a list attribute, in a few common shapes (start/end/value
dicts under ``raw_today``/``raw_tomorrow``, ``prices``, ``data``, ``rates`` or ``forecast``). This module
turns any of them into one timestamped series in currency per kWh, scaling per-MWh and cent units, so the
add-on gets the same thing whichever integration the user has.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import State
from homeassistant.util import dt as dt_util

FORECAST_ATTRIBUTES = (
    "raw_today",
    "raw_tomorrow",
    "prices",
    "data",
    "rates",
    "forecast",
    "prices_today",
    "prices_tomorrow",
)
START_KEYS = ("start", "start_time", "time", "from", "valid_from", "hour")
END_KEYS = ("end", "end_time", "till", "to", "valid_to")
VALUE_KEYS = ("value", "price", "price_per_kwh", "value_inc_vat", "total", "price_ct_per_kwh")
DEFAULT_STEP = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PricePoint:
    start: datetime
    end: datetime
    price_per_kwh: float


class PriceSourceError(ValueError):
    """The entity cannot serve as a price source; the message says why."""


def unit_scale(unit: str | None) -> float:
    """Factor from the entity's unit to currency per kWh (e.g. EUR/MWh → 0.001, ct/kWh → 0.01)."""
    text = (unit or "").replace(" ", "").lower()
    scale = 1.0
    if text.endswith("/mwh"):
        scale /= 1000.0
    elif text.endswith("/wh"):
        scale *= 1000.0
    if text.startswith(("ct", "c/", "cent", "öre", "ore", "p/")):
        scale /= 100.0
    return scale


def _first(item: Mapping[str, Any], keys: Iterable[str]) -> Any:
    return next((item[key] for key in keys if key in item and item[key] is not None), None)


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    if isinstance(value, str):
        parsed = dt_util.parse_datetime(value)
        return parsed if parsed is not None and parsed.tzinfo is not None else None
    return None


def _points(items: Any, scale: float) -> list[PricePoint]:
    if not isinstance(items, list):
        return []
    found: list[PricePoint] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        start = _as_time(_first(item, START_KEYS))
        value = _first(item, VALUE_KEYS)
        if start is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            continue
        end = _as_time(_first(item, END_KEYS)) or start + DEFAULT_STEP
        if end <= start:
            continue
        found.append(PricePoint(start=start, end=end, price_per_kwh=float(value) * scale))
    return found


def current_price(state: State) -> float:
    """The entity's current price in currency per kWh; raises when the state is not a number."""
    try:
        value = float(state.state)
    except ValueError as err:
        raise PriceSourceError(f"{state.entity_id} has no numeric state ({state.state!r})") from err
    if not math.isfinite(value):
        raise PriceSourceError(f"{state.entity_id} has no finite state ({state.state!r})")
    return value * unit_scale(state.attributes.get("unit_of_measurement"))


def price_forecast(state: State) -> list[PricePoint]:
    """Every future-or-current price the entity publishes, sorted, duplicates removed."""
    scale = unit_scale(state.attributes.get("unit_of_measurement"))
    by_start: dict[datetime, PricePoint] = {}
    for attribute in FORECAST_ATTRIBUTES:
        for point in _points(state.attributes.get(attribute), scale):
            by_start.setdefault(point.start, point)
    return [by_start[start] for start in sorted(by_start)]


def validate_price_entity(state: State | None, entity_id: str) -> list[PricePoint]:
    """Check an entity is usable as a price source: numeric now, with a forecast list."""
    if state is None:
        raise PriceSourceError(f"{entity_id} does not exist")
    current_price(state)
    forecast = price_forecast(state)
    if not forecast:
        raise PriceSourceError(
            f"{entity_id} has no price forecast attribute (looked for {', '.join(FORECAST_ATTRIBUTES)})"
        )
    return forecast
