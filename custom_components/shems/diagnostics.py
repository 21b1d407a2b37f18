"""Diagnostics: the entry and the site document sent to the add-on (token, URL and location redacted),
what the add-on reports, and the current plan's summary."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import ShemsConfigEntry
from .const import CONF_TOKEN, CONF_URL
from .site import build_site

TO_REDACT = {CONF_TOKEN, CONF_URL, "token", "latitude", "longitude"}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: ShemsConfigEntry) -> dict[str, Any]:
    coordinator = entry.runtime_data.coordinator
    data = coordinator.data
    plan = data.plan if data is not None else None
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
            "subentries": [
                {
                    "type": sub.subentry_type,
                    "title": sub.title,
                    "data": async_redact_data(dict(sub.data), TO_REDACT),
                }
                for sub in entry.subentries.values()
            ],
        },
        # What the add-on is told about the home; the location is personal.
        "site": async_redact_data(build_site(hass, entry, home_empty=coordinator.home_empty), TO_REDACT),
        "coordinator": {
            "last_update_success": coordinator.last_update_success,
            "stream_connected": coordinator.stream_connected,
        },
        "status": None
        if data is None
        else {
            "optimizer": data.status.optimizer,
            "last_run": data.status.last_run.isoformat() if data.status.last_run else None,
            "last_error": data.status.last_error,
            "prices_updated_at": (
                data.status.prices_updated_at.isoformat() if data.status.prices_updated_at else None
            ),
        },
        "plan": None
        if plan is None
        else {
            "id": plan.plan_id,
            "status": plan.status,
            "created_at": plan.created_at.isoformat() if plan.created_at else None,
            "steps": len(plan.steps),
            "first_step": plan.steps[0].start.isoformat() if plan.steps else None,
            "appliances": len(plan.appliances),
            "unmet_goals": [goal.message for goal in plan.unmet_goals],
        },
        "meters": sorted(data.meters) if data is not None else [],
    }
