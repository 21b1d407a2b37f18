"""Prices from a Home Assistant price entity: the attribute shapes of the common price integrations.

Recognised: lists of intervals under any attribute, each with a start (``start``, ``start_time``,
``startsAt``, ``valid_from``, ``hour``) and a price (``value``, ``price``, ``total``,
``price_per_kwh``, ``value_inc_vat``, ``price_eur_per_mwh``) — the shapes of Nord Pool (raw_today /
raw_tomorrow), EPEX Spot (data), Octopus Energy (rates), Energi Data Service and Tibber-style
``today``/``tomorrow`` lists. Units follow ``unit_of_measurement`` (…/MWh ÷ 1000, cents ÷ 100).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

START_KEYS = ("start", "start_time", "startsAt", "valid_from", "hour", "time")
END_KEYS = ("end", "end_time", "endsAt", "valid_to")
VALUE_KEYS = ("value", "price", "total", "price_per_kwh", "value_inc_vat", "price_eur_per_mwh")


@dataclass(frozen=True)
class PriceInterval:
    start: datetime
    end: datetime
    price: float  # currency per kWh


class PriceEntityError(ValueError):
    """The entity's attributes hold no usable price list; the message names the entity and says why."""


def _factor(unit: str, value_key: str) -> float:
    unit = unit.lower()
    if value_key == "price_eur_per_mwh" or "mwh" in unit:
        return 1 / 1000
    if unit.startswith(("ct", "c/", "cent", "øre", "ore", "p/")):
        return 1 / 100
    return 1.0


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def _intervals(items: Sequence[Any], unit: str) -> list[PriceInterval]:
    out: list[PriceInterval] = []
    for item in items:
        if not isinstance(item, Mapping):
            return []
        start = next((_parse_time(item[k]) for k in START_KEYS if k in item), None)
        value_key = next((k for k in VALUE_KEYS if k in item), None)
        if start is None or value_key is None:
            return []
        end = next((_parse_time(item[k]) for k in END_KEYS if k in item), None)
        try:
            price = float(item[value_key]) * _factor(unit, value_key)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(price):
            continue
        out.append(PriceInterval(start, end or start + timedelta(hours=1), price))
    return out


def prices_from_state(entity_id: str, state: Mapping[str, Any]) -> list[PriceInterval]:
    """Every priced interval the entity's attributes offer, sorted, duplicates removed."""
    attributes = state.get("attributes") or {}
    unit = str(attributes.get("unit_of_measurement", "") or attributes.get("unit", ""))
    found: dict[datetime, PriceInterval] = {}
    for value in attributes.values():
        if isinstance(value, list) and value:
            for interval in _intervals(value, unit):
                found[interval.start] = interval
    if not found:
        raise PriceEntityError(
            f"{entity_id}: no list of prices with start times in its attributes "
            "(expected e.g. raw_today/raw_tomorrow, data, rates, today/tomorrow)"
        )
    return [found[k] for k in sorted(found)]


def prices_on_grid(intervals: Sequence[PriceInterval], starts: Sequence[datetime]) -> tuple[list[float], int]:
    """One price per step start; beyond the last known interval the price of the same time a day
    earlier is repeated ("tomorrow = today"). Returns the prices and how many steps were filled so."""
    prices: list[float] = []
    filled = 0
    for start in starts:
        price = _lookup(intervals, start)
        back = start
        while price is None and back > intervals[0].start:
            back -= timedelta(days=1)
            price = _lookup(intervals, back)
        if price is None:
            price = intervals[0].price if start < intervals[0].start else intervals[-1].price
        if _lookup(intervals, start) is None:
            filled += 1
        prices.append(price)
    return prices, filled


def _lookup(intervals: Sequence[PriceInterval], moment: datetime) -> float | None:
    for interval in intervals:
        if interval.start <= moment < interval.end:
            return interval.price
    return None
