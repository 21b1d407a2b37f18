"""Sensors: the plan as it applies now, costs and savings, forecasts, and the meters the add-on reads.

Plan curves are attributes for cards and templates but never reach the recorder, so history stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from . import ShemsConfigEntry
from .const import (
    CONF_MAX_CURRENT,
    CONF_MIN_CURRENT,
    CONF_PHASES,
    CONF_SOLAR,
    CONF_VOLTAGE,
    SUBENTRY_APPLIANCE,
    SUBENTRY_BATTERY,
    SUBENTRY_EV,
    SUBENTRY_THERMAL,
)
from .entity import Context, ShemsEntity, add_asset_entities, hub_device, part_device
from .meter_sensors import track_meters
from .models import PlanStep
from .plan_math import cheapest_window, curve, energy_kwh, last_soc_before, local_day_bounds

ATTR_PLAN = "plan"
ATTR_EXPORTS_NOW = "exports_now"
# Below this the grid exchange is metering noise, not a planned export (the blueprints' dead band).
EXPORT_DEAD_BAND_W = 50.0
OPTIMIZER_STATES = ["idle", "running", "optimal", "feasible", "infeasible", "failed", "unknown"]

type ValueFn = Callable[[Context], StateType | datetime]
type AttrsFn = Callable[[Context], dict[str, Any] | None]


@dataclass(frozen=True, kw_only=True)
class ShemsSensorDescription(SensorEntityDescription):
    """A sensor and how to read it from the coordinator's snapshot."""

    value_fn: ValueFn
    attrs_fn: AttrsFn | None = None
    monetary: bool = False
    per_kwh: bool = False
    # For totals that restart from zero (today, this month): when they last did, so the recorder's
    # long-term statistics start a new cycle instead of reading the reset as a negative amount.
    last_reset_fn: Callable[[Context], datetime | None] | None = None


def _step_now(ctx: Context) -> PlanStep | None:
    plan = ctx.data.plan
    return plan.step_at(ctx.now) if plan is not None else None


def _asset_power_now(ctx: Context) -> float | None:
    step = _step_now(ctx)
    if step is None or ctx.asset_id is None or (asset := step.assets.get(ctx.asset_id)) is None:
        return None
    return asset.power_w


def _asset_curve(ctx: Context) -> dict[str, Any] | None:
    plan = ctx.data.plan
    if plan is None or ctx.asset_id is None:
        return None
    asset_id = ctx.asset_id
    return {
        ATTR_PLAN: [
            {
                "start": step.start.isoformat(),
                "power_w": step.assets[asset_id].power_w,
                "soc_pct": step.assets[asset_id].soc_pct,
            }
            for step in plan.steps
            if asset_id in step.assets
        ]
    }


def _battery_curve_and_export(ctx: Context) -> dict[str, Any] | None:
    """The plan curve, and whether the plan now discharges beyond the house into the grid: a
    battery blueprint then picks the inverter's forced-discharge mode, as self use stops at the
    house's own need."""
    attrs = _asset_curve(ctx)
    if attrs is None:
        return None
    step = _step_now(ctx)
    asset = step.assets.get(ctx.asset_id or "") if step is not None else None
    attrs[ATTR_EXPORTS_NOW] = bool(
        step is not None
        and asset is not None
        and (asset.power_w or 0) > EXPORT_DEAD_BAND_W
        and (step.grid_export_w or 0) > EXPORT_DEAD_BAND_W
    )
    return attrs


def _ev_curve_and_charger(ctx: Context) -> dict[str, Any] | None:
    """The plan curve and the charger's electrics, so the EV blueprint converts watts to amperes
    with the figures the plan was made for (configured once, in the EV's SHEMS settings)."""
    asset = ctx.asset
    charger = {
        "phases": int(asset.get(CONF_PHASES) or 3),
        "voltage": float(asset.get(CONF_VOLTAGE) or 230),
        "min_current": float(asset.get(CONF_MIN_CURRENT) or 6),
        "max_current": float(asset.get(CONF_MAX_CURRENT) or 16),
    }
    return (_asset_curve(ctx) or {}) | charger


def _curve_of(value: Callable[[PlanStep], float | None]) -> AttrsFn:
    def attrs(ctx: Context) -> dict[str, Any] | None:
        return {ATTR_PLAN: curve(ctx.data.plan, value)} if ctx.data.plan is not None else None

    return attrs


def _pv_day(offset_days: int) -> ValueFn:
    def value(ctx: Context) -> float | None:
        if ctx.data.plan is None:
            return None
        start, end = local_day_bounds(ctx.now + timedelta(days=offset_days))
        return energy_kwh(ctx.data.plan, lambda step: step.pv_w, start, end)

    return value


def _optimizer_state(ctx: Context) -> str:
    state = ctx.data.status.optimizer
    if state in ("idle", "unknown") and ctx.data.plan is not None:
        state = ctx.data.plan.status
    return state if state in OPTIMIZER_STATES else "unknown"


def _cheapest(ctx: Context) -> datetime | None:
    if ctx.data.plan is None or (window := cheapest_window(ctx.data.plan, ctx.now)) is None:
        return None
    return window.start


def _cheapest_attrs(ctx: Context) -> dict[str, Any] | None:
    if ctx.data.plan is None or (window := cheapest_window(ctx.data.plan, ctx.now)) is None:
        return None
    return {"end": window.end.isoformat(), "price": window.price}


def _soc_end_of_day(ctx: Context) -> float | None:
    if ctx.data.plan is None or ctx.asset_id is None:
        return None
    return last_soc_before(ctx.data.plan, ctx.asset_id, local_day_bounds(ctx.now)[1])


def _ev_projected(ctx: Context) -> float | None:
    if ctx.data.plan is None or ctx.asset_id is None or (ev := ctx.data.plan.ev(ctx.asset_id)) is None:
        return None
    return ev.projected_soc_pct


def _appliance_start(ctx: Context) -> datetime | None:
    if ctx.data.plan is None or ctx.asset_id is None:
        return None
    run = ctx.data.plan.appliance(ctx.asset_id)
    return run.planned_start if run is not None else None


def _power(
    key: str, value_fn: ValueFn, attrs_fn: AttrsFn | None = None, **kwargs: Any
) -> ShemsSensorDescription:
    return ShemsSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=value_fn,
        attrs_fn=attrs_fn,
        **kwargs,
    )


def _money(key: str, value_fn: ValueFn, *, total: bool, **kwargs: Any) -> ShemsSensorDescription:
    return ShemsSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL if total else None,
        suggested_display_precision=2,
        value_fn=value_fn,
        monetary=True,
        **kwargs,
    )


def _soc(key: str, value_fn: ValueFn) -> ShemsSensorDescription:
    return ShemsSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=value_fn,
    )


HUB_SENSORS: tuple[ShemsSensorDescription, ...] = (
    ShemsSensorDescription(
        key="optimizer_status",
        translation_key="optimizer_status",
        device_class=SensorDeviceClass.ENUM,
        options=OPTIMIZER_STATES,
        value_fn=_optimizer_state,
        attrs_fn=lambda ctx: {
            "last_error": ctx.data.status.last_error,
            "unmet_goals": [goal.message for goal in ctx.data.plan.unmet_goals] if ctx.data.plan else [],
        },
    ),
    ShemsSensorDescription(
        key="last_plan",
        translation_key="last_plan",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda ctx: ctx.data.plan.created_at if ctx.data.plan else None,
    ),
    ShemsSensorDescription(
        key="next_run",
        translation_key="next_run",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda ctx: ctx.data.status.next_run,
    ),
    _money(
        "savings_today",
        lambda ctx: ctx.data.status.savings_today,
        total=True,
        last_reset_fn=lambda ctx: ctx.data.status.today_start,
    ),
    _money(
        "savings_month",
        lambda ctx: ctx.data.status.savings_month,
        total=True,
        last_reset_fn=lambda ctx: ctx.data.status.month_start,
    ),
    _money(
        "forecast_cost_24h", lambda ctx: ctx.data.plan.cost_next_24h if ctx.data.plan else None, total=False
    ),
    _money(
        "forecast_cost_7d", lambda ctx: ctx.data.plan.cost_next_7d if ctx.data.plan else None, total=False
    ),
)

GRID_SENSORS: tuple[ShemsSensorDescription, ...] = (
    ShemsSensorDescription(
        key="current_price",
        translation_key="current_price",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=4,
        per_kwh=True,
        value_fn=lambda ctx: step.import_price if (step := _step_now(ctx)) else None,
        attrs_fn=_curve_of(lambda step: step.import_price),
    ),
    ShemsSensorDescription(
        key="next_cheapest_window",
        translation_key="next_cheapest_window",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_cheapest,
        attrs_fn=_cheapest_attrs,
    ),
    _power(
        "planned_import",
        lambda ctx: step.grid_import_w if (step := _step_now(ctx)) else None,
        _curve_of(lambda step: step.grid_import_w),
    ),
    _power(
        "planned_export",
        lambda ctx: step.grid_export_w if (step := _step_now(ctx)) else None,
        _curve_of(lambda step: step.grid_export_w),
    ),
    _money(
        "cost_today",
        lambda ctx: ctx.data.status.cost_today,
        total=True,
        last_reset_fn=lambda ctx: ctx.data.status.today_start,
    ),
    _money(
        "cost_month",
        lambda ctx: ctx.data.status.cost_month,
        total=True,
        last_reset_fn=lambda ctx: ctx.data.status.month_start,
    ),
)

SOLAR_SENSORS: tuple[ShemsSensorDescription, ...] = tuple(
    ShemsSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=_pv_day(offset),
        attrs_fn=_curve_of(lambda step: step.pv_w) if offset == 0 else None,
    )
    for key, offset in (("pv_forecast_today", 0), ("pv_forecast_tomorrow", 1))
)


ASSET_SENSORS: dict[str, tuple[ShemsSensorDescription, ...]] = {
    SUBENTRY_BATTERY: (
        _power("battery_planned_power", _asset_power_now, _battery_curve_and_export),
        _soc("planned_soc_end_of_day", _soc_end_of_day),
    ),
    SUBENTRY_EV: (
        _power("ev_planned_power", _asset_power_now, _ev_curve_and_charger),
        _soc("projected_soc", _ev_projected),
    ),
    SUBENTRY_APPLIANCE: (
        ShemsSensorDescription(
            key="planned_start",
            translation_key="planned_start",
            device_class=SensorDeviceClass.TIMESTAMP,
            value_fn=_appliance_start,
        ),
    ),
    SUBENTRY_THERMAL: (_power("thermal_planned_power", _asset_power_now, _asset_curve),),
}


# Read-only: the coordinator does the fetching.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: ShemsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    coordinator = entry.runtime_data.coordinator
    entities: list[SensorEntity] = [
        ShemsSensor(coordinator, description, device=hub_device(entry), scope="hub")
        for description in HUB_SENSORS
    ]
    entities += [
        ShemsSensor(coordinator, description, device=part_device(entry, "grid"), scope="grid")
        for description in GRID_SENSORS
    ]
    if entry.data.get(CONF_SOLAR):
        entities += [
            ShemsSensor(coordinator, description, device=part_device(entry, "solar"), scope="solar")
            for description in SOLAR_SENSORS
        ]
    async_add_entities(entities)
    add_asset_entities(entry, async_add_entities, ShemsSensor, ASSET_SENSORS)

    track_meters(hass, entry, async_add_entities)


class ShemsSensor(ShemsEntity, SensorEntity):
    """A figure of the plan or the add-on's status."""

    entity_description: ShemsSensorDescription
    _unrecorded_attributes = frozenset({ATTR_PLAN})

    @property
    def native_unit_of_measurement(self) -> str | None:
        if self.entity_description.monetary:
            return self.hass.config.currency
        if self.entity_description.per_kwh:
            return f"{self.hass.config.currency}/{UnitOfEnergy.KILO_WATT_HOUR}"
        return self.entity_description.native_unit_of_measurement

    @property
    def native_value(self) -> StateType | datetime:
        return self.entity_description.value_fn(self.snapshot())

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        if self.entity_description.attrs_fn is None:
            return None
        return self.entity_description.attrs_fn(self.snapshot())

    @property
    def last_reset(self) -> datetime | None:
        if self.entity_description.last_reset_fn is None:
            return None
        return self.entity_description.last_reset_fn(self.snapshot())
