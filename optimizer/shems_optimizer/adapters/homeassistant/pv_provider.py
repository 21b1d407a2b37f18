"""A provider's PV forecast read from a Home Assistant entity (``solar[].forecast_entity``).

Shapes understood, from the entity's attributes:

* Solcast-style lists ``detailedForecast``, ``forecast`` or ``detailedHourly``: items with
  ``period_start`` (ISO time) and ``pv_estimate`` in **kW**; each period lasts until the next start
  (the last one as long as the one before; 30 min when there is only one).
* Forecast.Solar-style ``watts``: ``{ISO time: W}``, the power at that instant (averaged between
  neighbouring instants). Open-Meteo Solar Forecast sensors carry the same ``watts`` and
  ``wh_period`` attributes.
* Forecast.Solar-style ``wh_period`` / ``wh_hours``: ``{ISO time: Wh}``, the energy of the period that
  starts at that time (until the next key; the last one as long as the one before).

Anything else raises :class:`PvProviderError` naming the entity and what was expected; the plan shows
it as a note and carries on without the provider.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from shems_optimizer.app.inputs.pv_intervals import PvInterval

LIST_ATTRIBUTES = ("detailedForecast", "forecast", "detailedHourly")
POWER_MAP = "watts"
ENERGY_MAPS = ("wh_period", "wh_hours")
MAX_PLAUSIBLE_KW = 1000.0  # a home array of a megawatt: the value is in W, not kW


class PvProviderError(ValueError):
    """The entity holds no PV forecast in a shape SHEMS understands."""


def _time(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as err:
        raise PvProviderError(f"{where}: {value!r} is not an ISO time") from err
    if moment.tzinfo is None:
        raise PvProviderError(f"{where}: {value!r} has no UTC offset")
    return moment


def _number(value: Any, where: str) -> float | None:
    """A finite number, or None for a missing value (skipped, never read as zero)."""
    if isinstance(value, bool):
        raise PvProviderError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _periods(starts: Sequence[datetime]) -> list[timedelta]:
    if len(starts) == 1:
        return [timedelta(minutes=30)]
    gaps = [b - a for a, b in pairwise(starts)]
    return [*gaps, gaps[-1]]


def pv_from_state(entity_id: str, state: Mapping[str, Any]) -> list[PvInterval]:
    """The provider's forecast as intervals of mean power (W), oldest first."""
    attributes = state.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise PvProviderError(f"{entity_id}: attributes are not an object")
    for name in LIST_ATTRIBUTES:
        items = attributes.get(name)
        if isinstance(items, list) and items:
            return _from_list(f"{entity_id}.{name}", items)
    watts = attributes.get(POWER_MAP)
    if isinstance(watts, Mapping) and watts:
        return _from_power_map(f"{entity_id}.{POWER_MAP}", watts)
    for name in ENERGY_MAPS:
        energy = attributes.get(name)
        if isinstance(energy, Mapping) and energy:
            return _from_energy_map(f"{entity_id}.{name}", energy)
    raise PvProviderError(
        f"{entity_id}: no PV forecast found; expected a {'/'.join(LIST_ATTRIBUTES)} list of "
        f"{{period_start, pv_estimate (kW)}} or a {POWER_MAP} / {'/'.join(ENERGY_MAPS)} map of "
        f"{{ISO time: value}} (attributes present: {', '.join(sorted(map(str, attributes))) or 'none'})"
    )


def _from_list(where: str, items: list[Any]) -> list[PvInterval]:
    rows: list[tuple[datetime, float | None]] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping) or "period_start" not in item or "pv_estimate" not in item:
            raise PvProviderError(f"{at}: expected an object with period_start and pv_estimate")
        kw = _number(item["pv_estimate"], f"{at}.pv_estimate")
        if kw is not None and abs(kw) > MAX_PLAUSIBLE_KW:
            raise PvProviderError(
                f"{at}.pv_estimate: {kw:g} kW is implausible for a home; this field is in kW (W ÷ 1000)"
            )
        rows.append((_time(item["period_start"], f"{at}.period_start"), kw))
    rows.sort(key=lambda r: r[0])
    periods = _periods([r[0] for r in rows])
    return [
        PvInterval(start, start + period, max(kw, 0.0) * 1000.0)
        for (start, kw), period in zip(rows, periods, strict=True)
        if kw is not None
    ]


def _sorted_map(where: str, values: Mapping[Any, Any]) -> list[tuple[datetime, float | None]]:
    rows = [
        (_time(key, f"{where}[{key!r}]"), _number(value, f"{where}[{key!r}]"))
        for key, value in values.items()
    ]
    return sorted(rows, key=lambda r: r[0])


def _from_power_map(where: str, values: Mapping[Any, Any]) -> list[PvInterval]:
    rows = _sorted_map(where, values)
    out = []
    for (start, w0), (end, w1) in pairwise(rows):
        if w0 is not None and w1 is not None and end > start:
            out.append(PvInterval(start, end, max((w0 + w1) / 2, 0.0)))
    return out


def _from_energy_map(where: str, values: Mapping[Any, Any]) -> list[PvInterval]:
    rows = _sorted_map(where, values)
    periods = _periods([r[0] for r in rows])
    out = []
    for (start, wh), period in zip(rows, periods, strict=True):
        if wh is not None and period > timedelta(0):
            out.append(PvInterval(start, start + period, max(wh, 0.0) / (period / timedelta(hours=1))))
    return out
