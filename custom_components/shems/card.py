"""The plan card: its script served from the integration's folder, loaded by every dashboard, and the
WebSocket command that gives it one entry's next hours (plan, names, goals) and what was measured.

The card asks over the WebSocket instead of reading entity attributes, so the plan's curves never sit in
the state machine or the recorder; what it draws is built here from the coordinator's plan, without a
request to the add-on. Measured values come from Home Assistant's own recorder: the 5-minute statistics
of the energy meters named in the entry (as average power) and the state history of the SOC sensors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import voluptuous as vol
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ENERGY_IN,
    CONF_ENERGY_OUT,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_SOC_ENTITY,
    CONF_SOLAR,
    DOMAIN,
    SUBENTRY_APPLIANCE,
    SUBENTRY_BATTERY,
    SUBENTRY_EV,
    SUBENTRY_THERMAL,
)
from .entity import entry_uid
from .models import Plan

CARD_FILE = Path(__file__).parent / "frontend" / "shems-plan-card.js"
STATIC_URL = f"/{DOMAIN}_static"
CARD_URL = f"{STATIC_URL}/{CARD_FILE.name}"
WS_CARD = f"{DOMAIN}/card"
DEFAULT_HOURS = 48
DEFAULT_HOURS_PAST = 6
MAX_HOURS = 7 * 24
STATS_PERIOD = timedelta(minutes=5)
KINDS = {
    SUBENTRY_BATTERY: "battery",
    SUBENTRY_EV: "ev",
    SUBENTRY_APPLIANCE: "appliance",
    SUBENTRY_THERMAL: "thermal",
}


def card_url(content: bytes) -> str:
    """The script's address with a digest of its content, so a new version is never served stale."""
    return f"{CARD_URL}?v={hashlib.sha256(content).hexdigest()[:12]}"


async def async_setup_card(hass: HomeAssistant) -> None:
    """Serve the card's script and add it to every dashboard (when HA's HTTP server and frontend run)."""
    async_register_command(hass, ws_card)
    if getattr(hass, "http", None) is None or not CARD_FILE.is_file():
        return
    from homeassistant.components.http import StaticPathConfig

    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(CARD_FILE.parent), cache_headers=False)]
    )
    if "frontend" in hass.config.components:
        from homeassistant.components.frontend import add_extra_js_url

        content = await hass.async_add_executor_job(CARD_FILE.read_bytes)
        add_extra_js_url(hass, card_url(content))


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _loaded(hass: HomeAssistant) -> list[Any]:
    return [e for e in hass.config_entries.async_entries(DOMAIN) if e.state is ConfigEntryState.LOADED]


def plan_view(
    plan: Plan, titles: Mapping[str, tuple[str, str]], start: datetime, end: datetime
) -> dict[str, Any]:
    """The plan's steps that overlap [start, end) as columns (epoch seconds; W, %, price per kWh), each
    asset by its name and kind, appliance runs by name, unmet goals in words."""
    steps = [step for step in plan.steps if step.end > start and step.start < end]
    columns: dict[str, list[Any]] = {
        "time": [_epoch(step.start) for step in steps],
        "import_price": [step.import_price for step in steps],
        "export_price": [step.export_price for step in steps],
        "pv_w": [step.pv_w for step in steps],
        "load_w": [step.load_w for step in steps],
        "grid_w": [
            None
            if step.grid_import_w is None and step.grid_export_w is None
            else (step.grid_import_w or 0.0) - (step.grid_export_w or 0.0)
            for step in steps
        ],
    }
    assets = []
    for asset_id, (name, kind) in titles.items():
        if kind == "appliance" or not any(asset_id in step.assets for step in steps):
            continue
        values = [step.assets.get(asset_id) for step in steps]
        asset: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "power_w": [value.power_w if value else None for value in values],
        }
        if kind in ("battery", "ev"):
            asset["soc_pct"] = [value.soc_pct if value else None for value in values]
        assets.append(asset)
    runs = [
        {"name": titles[run.asset_id][0], "start": _epoch(run.planned_start), "end": _epoch(run.planned_end)}
        for run in plan.appliances
        if run.asset_id in titles and run.planned_start is not None and run.planned_end is not None
    ]
    return {
        "steps": columns,
        "step_end": _epoch(steps[-1].end) if steps else None,
        "assets": assets,
        "appliances": runs,
        "goals": [goal.message for goal in plan.unmet_goals if goal.message],
        "status": plan.status,
        "created_at": plan.created_at.isoformat() if plan.created_at else None,
    }


def _sources(entry: Any) -> dict[str, list[str]]:
    """The entry's energy meters (kWh, with statistics) for measured grid, PV and battery power."""
    batteries = [sub.data for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_BATTERY]
    return {
        "import": [entry.data[CONF_GRID_IMPORT]] if entry.data.get(CONF_GRID_IMPORT) else [],
        "export": [entry.data[CONF_GRID_EXPORT]] if entry.data.get(CONF_GRID_EXPORT) else [],
        "pv": list(entry.data.get(CONF_SOLAR) or []),
        "charge": [b[CONF_ENERGY_IN] for b in batteries if b.get(CONF_ENERGY_IN)],
        "discharge": [b[CONF_ENERGY_OUT] for b in batteries if b.get(CONF_ENERGY_OUT)],
    }


def measured_power(
    stats: Mapping[str, Iterable[Mapping[str, Any]]], sources: Mapping[str, list[str]]
) -> dict[str, list[Any]]:
    """Average power (W) per 5-minute period from the meters' energy change in it: grid (import minus
    export), PV, battery (discharge minus charge) and the home's load that balances them."""
    per: dict[str, dict[float, float]] = {}
    for role, ids in sources.items():
        sums: dict[float, float] = {}
        for statistic_id in ids:
            for row in stats.get(statistic_id, ()):
                if row.get("change") is None:
                    continue
                sums[float(row["start"])] = sums.get(float(row["start"]), 0.0) + float(row["change"])
        per[role] = sums
    times = sorted(set().union(*(set(sums) for sums in per.values()))) if per else []
    to_w = 1000.0 * 3600.0 / STATS_PERIOD.total_seconds()

    def series(role: str, sign: float = 1.0) -> list[float | None]:
        sums = per.get(role, {})
        if not sources.get(role):
            return [None] * len(times)
        return [round(sign * sums.get(t, 0.0) * to_w, 1) for t in times]

    grid = [_sub(a, b) for a, b in zip(series("import"), series("export"), strict=True)]
    battery = [_sub(a, b) for a, b in zip(series("discharge"), series("charge"), strict=True)]
    pv = series("pv")
    load = [
        None if g is None else round(g + (p or 0.0) + (b or 0.0), 1)
        for g, p, b in zip(grid, pv, battery, strict=True)
    ]
    return {"time": times, "grid_w": grid, "pv_w": pv, "battery_w": battery, "load_w": load}


def _sub(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return round((a or 0.0) - (b or 0.0), 1)


async def _measured(hass: HomeAssistant, entry: Any, start: datetime, end: datetime) -> dict[str, Any]:
    """What the recorder holds for the entry's meters and SOC sensors between ``start`` and ``end``."""
    if "recorder" not in hass.config.components or start >= end:
        return {"power": measured_power({}, {}), "soc": []}
    from homeassistant.components.recorder import history, statistics
    from homeassistant.helpers.recorder import get_instance

    sources = _sources(entry)
    ids = {statistic_id for ids in sources.values() for statistic_id in ids}
    socs = [
        (sub.title, KINDS[sub.subentry_type], sub.data[CONF_SOC_ENTITY])
        for sub in entry.subentries.values()
        if sub.subentry_type in (SUBENTRY_BATTERY, SUBENTRY_EV) and sub.data.get(CONF_SOC_ENTITY)
    ]
    recorder = get_instance(hass)
    stats = (
        await recorder.async_add_executor_job(
            statistics.statistics_during_period, hass, start, end, ids, "5minute", None, {"change"}
        )
        if ids
        else {}
    )
    states = (
        await recorder.async_add_executor_job(
            lambda: history.get_significant_states(
                hass,
                start,
                end,
                [entity for _, _, entity in socs],
                significant_changes_only=False,
                minimal_response=True,
                no_attributes=True,
                include_start_time_state=True,
            )
        )
        if socs
        else {}
    )
    soc = []
    for name, kind, entity_id in socs:
        points = []
        for state in states.get(entity_id, []):
            value = state.get("state") if isinstance(state, dict) else state.state
            changed = state.get("last_changed") if isinstance(state, dict) else state.last_changed
            try:
                number = float(str(value))
            except ValueError:
                continue
            moment = changed if isinstance(changed, datetime) else dt_util.parse_datetime(str(changed))
            if moment is not None:
                points.append([max(_epoch(moment), _epoch(start)), number])
        soc.append({"name": name, "kind": kind, "points": points})
    return {"power": measured_power(stats, sources), "soc": soc}


@websocket_command(
    {
        vol.Required("type"): WS_CARD,
        vol.Optional("entry_id"): str,
        vol.Optional("hours", default=DEFAULT_HOURS): vol.All(int, vol.Range(min=1, max=MAX_HOURS)),
        vol.Optional("hours_past", default=DEFAULT_HOURS_PAST): vol.All(int, vol.Range(min=0, max=MAX_HOURS)),
    }
)
@async_response
async def ws_card(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """One entry's view for the card (the only loaded entry when none is named), and the entries to
    pick from in the card's editor."""
    loaded = _loaded(hass)
    entries = [{"entry_id": entry.entry_id, "title": entry.title} for entry in loaded]
    wanted = msg.get("entry_id")
    entry = next((e for e in loaded if e.entry_id == wanted), None) if wanted else None
    if entry is None and not wanted and len(loaded) == 1:
        entry = loaded[0]
    if entry is None:
        connection.send_result(msg["id"], {"entries": entries, "entry_id": None})
        return
    now = dt_util.utcnow()
    start, end = now - timedelta(hours=msg["hours_past"]), now + timedelta(hours=msg["hours"])
    titles = {
        sub_id: (sub.title, KINDS.get(sub.subentry_type, sub.subentry_type))
        for sub_id, sub in entry.subentries.items()
    }
    coordinator = entry.runtime_data.coordinator
    plan = coordinator.data.plan if coordinator.data is not None else None
    result: dict[str, Any] = {
        "entries": entries,
        "entry_id": entry.entry_id,
        "title": entry.title,
        "currency": hass.config.currency,
        "now": _epoch(now),
        "start": _epoch(start),
        "end": _epoch(end),
        "plan": plan_view(plan, titles, start, end) if plan is not None else None,
        "measured": await _measured(hass, entry, start, now),
        # The card asks again when this sensor (the time of the plan in force) changes.
        "watch": er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, f"{entry_uid(entry)}_hub_last_plan"
        ),
    }
    connection.send_result(msg["id"], result)
