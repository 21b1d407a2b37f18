"""Energy platform: SHEMS's PV forecast in the Energy dashboard's solar graph."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import DOMAIN

HOUR = timedelta(hours=1)


async def async_get_solar_forecast(
    hass: HomeAssistant, config_entry_id: str
) -> dict[str, dict[str, float]] | None:
    """Wh of planned PV production per clock hour (UTC), keyed by the ISO start of the hour."""
    entry = hass.config_entries.async_get_entry(config_entry_id)
    if entry is None or entry.domain != DOMAIN or not hasattr(entry, "runtime_data"):
        return None
    data = entry.runtime_data.coordinator.data
    if data is None or data.plan is None:
        return None
    wh_hours: dict[str, float] = {}
    for step in data.plan.steps:
        if step.pv_w is None:
            continue
        # A step may be shorter or longer than an hour: split it over the clock hours it covers.
        cursor, end = dt_util.as_utc(step.start), dt_util.as_utc(step.end)
        while cursor < end:
            hour = cursor.replace(minute=0, second=0, microsecond=0)
            upto = min(end, hour + HOUR)
            key = hour.isoformat()
            wh_hours[key] = wh_hours.get(key, 0.0) + step.pv_w * (upto - cursor).total_seconds() / 3600.0
            cursor = upto
    return {"wh_hours": {key: round(value, 1) for key, value in wh_hours.items()}}
