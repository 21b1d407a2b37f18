"""Repair issues: the add-on is unreachable or reports a problem (readiness), prices are stale, a
source sensor has the wrong unit or device class, or the current plan cannot meet a goal. Each is
raised when its cause appears and removed as soon as the cause is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ENERGY_IN,
    CONF_ENERGY_OUT,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_GRID_POWER,
    CONF_METERS,
    CONF_PRICE_ENTITY,
    CONF_PRICE_KIND,
    CONF_SOLAR,
    DOMAIN,
    PRICE_ENTITY,
    STALE_PRICES_AFTER,
)
from .models import UnmetGoal
from .price_source import PriceSourceError, price_forecast, validate_price_entity
from .validation import energy_sensor_problem, power_sensor_problem

if TYPE_CHECKING:
    from . import ShemsConfigEntry

# The add-on's problem code for "started without Home Assistant's URL and token".
NO_HOME_ASSISTANT = "no_home_assistant"


def _set_issue(
    hass: HomeAssistant,
    issue_id: str,
    active: bool,
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    placeholders: dict[str, str] | None = None,
    translation_key: str | None = None,
) -> None:
    if not active:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=severity,
        translation_key=translation_key or issue_id.split(":", 1)[0],
        translation_placeholders=placeholders,
    )


def source_sensors(entry: ShemsConfigEntry) -> dict[str, str]:
    """Every configured source sensor and the kind it must be ("energy" or "power")."""
    sensors: dict[str, str] = {}
    for key in (CONF_GRID_IMPORT, CONF_GRID_EXPORT):
        if entry.data.get(key):
            sensors[entry.data[key]] = "energy"
    for key in (CONF_SOLAR, CONF_METERS):
        for entity_id in entry.data.get(key) or []:
            sensors[entity_id] = "energy"
    if entry.data.get(CONF_GRID_POWER):
        sensors[entry.data[CONF_GRID_POWER]] = "power"
    for subentry in entry.subentries.values():
        for key in (CONF_ENERGY_IN, CONF_ENERGY_OUT):
            if subentry.data.get(key):
                sensors[subentry.data[key]] = "energy"
    return sensors


@callback
def async_check_sensor(hass: HomeAssistant, entry: ShemsConfigEntry, entity_id: str, kind: str) -> None:
    """Raise or clear the wrong-unit issue of one source sensor (a missing sensor is not judged)."""
    problem = (
        energy_sensor_problem(hass, entity_id) if kind == "energy" else power_sensor_problem(hass, entity_id)
    )
    state = hass.states.get(entity_id)
    unit = state.attributes.get("unit_of_measurement") if state is not None else None
    device_class = state.attributes.get("device_class") if state is not None else None
    _set_issue(
        hass,
        f"wrong_unit:{entry.entry_id}:{entity_id}",
        problem in ("not_energy_sensor", "not_power_sensor"),
        translation_key=f"wrong_unit_{kind}",
        placeholders={"entity": entity_id, "unit": str(unit), "device_class": str(device_class)},
    )


@callback
def async_check_prices(hass: HomeAssistant, entry: ShemsConfigEntry) -> None:
    """Stale when the price entity has no future prices or the add-on has not seen prices for a day."""
    now = dt_util.utcnow()
    stale_reason: str | None = None
    if entry.data.get(CONF_PRICE_KIND) == PRICE_ENTITY and (entity_id := entry.data.get(CONF_PRICE_ENTITY)):
        state = hass.states.get(entity_id)
        try:
            validate_price_entity(state, entity_id)
            assert state is not None
            if max(point.end for point in price_forecast(state)) <= now:
                stale_reason = f"{entity_id} has no prices after {now.isoformat(timespec='minutes')}"
        except PriceSourceError as err:
            stale_reason = str(err)
    coordinator = entry.runtime_data.coordinator
    if stale_reason is None and coordinator.data is not None:
        updated = coordinator.data.status.prices_updated_at
        if updated is not None and now - updated > STALE_PRICES_AFTER:
            stale_reason = f"the add-on's newest prices are from {updated.isoformat(timespec='minutes')}"
    _set_issue(
        hass,
        f"stale_prices:{entry.entry_id}",
        stale_reason is not None,
        placeholders={"reason": stale_reason or ""},
    )


@callback
def async_check_coordinator(hass: HomeAssistant, entry: ShemsConfigEntry) -> None:
    """Reachability and unmet goals, after every coordinator update."""
    coordinator = entry.runtime_data.coordinator
    _set_issue(
        hass,
        f"addon_unreachable:{entry.entry_id}",
        not coordinator.last_update_success,
        severity=ir.IssueSeverity.ERROR,
        placeholders={"title": entry.title, "url": coordinator.client.base_url},
    )
    if not coordinator.last_update_success or coordinator.data is None:
        return
    _check_addon_problems(hass, entry)
    readiness = coordinator.data.readiness
    _set_issue(
        hass,
        f"addon_not_ready:{entry.entry_id}",
        readiness is not None and not readiness.ready,
        severity=ir.IssueSeverity.ERROR,
        placeholders={
            "title": entry.title,
            "problems": "; ".join(f"{component}: {detail}" for component, detail in readiness.problems)
            if readiness is not None
            else "",
        },
    )
    plan = coordinator.data.plan
    goals = plan.unmet_goals if plan is not None else ()
    names = {sub_id: sub.title for sub_id, sub in entry.subentries.items()}
    _set_issue(
        hass,
        f"unmet_goals:{entry.entry_id}",
        bool(goals),
        placeholders={
            "goals": "; ".join(
                _goal_text(goal, names.get(goal.asset_id or "", entry.title)) for goal in goals
            )
        },
    )
    async_check_prices(hass, entry)


def _goal_text(goal: UnmetGoal, name: str) -> str:
    """The add-on's sentence, led by the asset's name once (its messages already start with it)."""
    text = goal.message or goal.goal
    return text if text.casefold().startswith(name.casefold()) else f"{name}: {text}"


@callback
def _check_addon_problems(hass: HomeAssistant, entry: ShemsConfigEntry) -> None:
    """The add-on's set-up problems, e.g. no access to Home Assistant: an error while no plan can be
    made (it needs prices from Home Assistant), a warning otherwise; gone once the add-on is fixed."""
    status = entry.runtime_data.coordinator.data.status
    problems = dict(status.problems)
    message = problems.get(NO_HOME_ASSISTANT)
    _set_issue(
        hass,
        f"addon_no_home_assistant:{entry.entry_id}",
        message is not None,
        severity=ir.IssueSeverity.ERROR if status.optimizer == "failed" else ir.IssueSeverity.WARNING,
        placeholders={
            "title": entry.title,
            "message": message or "",
            "error": status.last_error or "-",
        },
    )


@callback
def async_watch_sources(hass: HomeAssistant, entry: ShemsConfigEntry) -> CALLBACK_TYPE:
    """Check now and whenever a source sensor, the price entity or the coordinator changes."""
    sensors = source_sensors(entry)
    price_entity = (
        entry.data.get(CONF_PRICE_ENTITY) if entry.data.get(CONF_PRICE_KIND) == PRICE_ENTITY else None
    )

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        if entity_id in sensors:
            async_check_sensor(hass, entry, entity_id, sensors[entity_id])
        if entity_id == price_entity:
            async_check_prices(hass, entry)

    for entity_id, kind in sensors.items():
        async_check_sensor(hass, entry, entity_id, kind)
    async_check_coordinator(hass, entry)
    watched = [*sensors, *([price_entity] if price_entity else [])]
    unsub_states = async_track_state_change_event(hass, watched, on_state)
    unsub_coordinator = entry.runtime_data.coordinator.async_add_listener(
        lambda: async_check_coordinator(hass, entry)
    )

    @callback
    def unsubscribe() -> None:
        unsub_states()
        unsub_coordinator()

    return unsubscribe


@callback
def async_clear_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Remove every issue of an entry (when it is removed)."""
    registry = ir.async_get(hass)
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and f":{entry_id}" in issue_id:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
