"""The site document: how the integration (or a user) describes the home to the add-on.

It names Home Assistant entities for measurements and prices and gives each asset's ratings in the
units HA users see (W, kWh, %, °C). :func:`validate_site_document` checks it field by field, naming
the exact path of anything wrong (``batteries[0].capacity_kwh``), and catches the usual unit slip of
a power given in kW where watts are expected. The optimizer's site model is built from it by
:mod:`shems_optimizer.app.site.engine_site`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import voluptuous as vol

from shems_optimizer.core.model.calendar import country_code
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.tariff import DAY_KINDS, time_of_use_from
from shems_optimizer.runtime.errors import InputRejected

from .ev_charger import charger_range_w

ENTITY = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


def _describes(func: Any, **json_schema: Any) -> None:
    """How the OpenAPI document describes a validator function (see api/site_schemas.py)."""
    func.json_schema = json_schema


def _entity(value: Any) -> str:
    if not isinstance(value, str) or not ENTITY.match(value):
        raise vol.Invalid(f"expected a Home Assistant entity id like sensor.grid_power, got {value!r}")
    return value


def _optional_entity(value: Any) -> str | None:
    return None if value is None or value == "" else _entity(value)


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise vol.Invalid("expected an IANA time zone name such as Europe/Berlin")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise vol.Invalid(f"unknown time zone {value!r}") from err
    return value


def _clock(value: Any) -> str:
    if not isinstance(value, str) or not HHMM.match(value):
        raise vol.Invalid(f"expected a time of day HH:MM, got {value!r}")
    return value


def _month_day(value: Any) -> str:
    if not isinstance(value, str) or not MMDD.match(value):
        raise vol.Invalid(f"expected a date MM-DD, got {value!r}")
    return value


def _country(value: Any) -> str | None:
    try:
        return country_code("country", value)
    except ConfigError as err:
        raise vol.Invalid(err.problem) from err


def _number(low: float, high: float) -> Any:
    return vol.All(_finite, vol.Range(min=low, max=high))


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise vol.Invalid("expected a number, got a boolean")
    return value


def _finite(value: Any) -> float:
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


def _watts(low: float = 0.0, high: float = 1_000_000.0) -> Any:
    """A power in W; values under 100 are almost surely kW and are refused with that hint."""

    def check(value: Any) -> float:
        number = _number(low, high)(value)
        if 0 < number < 100:
            raise vol.Invalid(f"{number:g} W is implausibly small: this field is in watts (kW × 1000)")
        return float(number)

    _describes(check, type="number", minimum=low, maximum=high, description="watts (not kW)")
    return check


def _id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 100:
        raise vol.Invalid("expected an id of 1-100 characters")
    return value


_ASSET: dict[Any, Any] = {
    vol.Required("id"): _id,
    vol.Required("name"): vol.All(str, vol.Length(min=1, max=100)),
}

GRID = vol.Schema(
    {
        vol.Optional("import_energy_entity"): _optional_entity,
        vol.Optional("export_energy_entity"): _optional_entity,
        vol.Optional("power_entity"): _optional_entity,
        vol.Optional("max_import_w"): vol.Any(None, _watts(100.0)),
        vol.Optional("max_export_w"): vol.Any(None, _watts(0.0)),
    },
    extra=vol.PREVENT_EXTRA,
)


def _degrees(limit: float) -> Any:
    """Decimal degrees within ±``limit``; NaN and infinities are refused (they pass a range check)."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise vol.Invalid(f"expected decimal degrees between -{limit:g} and {limit:g}, got {value!r}")
        if not -limit <= value <= limit:
            raise vol.Invalid(f"{value:g} is outside -{limit:g}..{limit:g} decimal degrees")
        return float(value)

    _describes(check, type="number", minimum=-limit, maximum=limit, description="decimal degrees")
    return check


# Where the home is (Home Assistant's configured latitude/longitude): the PV forecast needs the sun.
LOCATION = vol.Schema(
    {vol.Required("latitude"): _degrees(90.0), vol.Required("longitude"): _degrees(180.0)},
    extra=vol.PREVENT_EXTRA,
)


def _location(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise vol.Invalid("expected an object {latitude, longitude} in decimal degrees")
    located: dict[str, float] = LOCATION(dict(value))
    return located


SOLAR = vol.Schema(
    {
        vol.Optional("energy_entity"): _optional_entity,
        vol.Optional("power_entity"): _optional_entity,
        vol.Optional("forecast_entity"): _optional_entity,
        vol.Optional("peak_w"): vol.Any(None, _watts(100.0)),
        # Orientation: tilt from horizontal, azimuth clockwise from north (180 = facing south).
        vol.Optional("tilt_deg"): vol.Any(None, _number(0, 90)),
        vol.Optional("azimuth_deg"): vol.Any(None, _number(0, 360)),
    },
    extra=vol.PREVENT_EXTRA,
)

PRICE_ENTITY = vol.Schema(
    {
        vol.Required("kind"): "entity",
        vol.Required("entity_id"): _entity,
        vol.Optional("export_entity_id"): _optional_entity,
        vol.Optional("export_per_kwh"): vol.Any(None, _number(-10, 10)),
    },
    extra=vol.PREVENT_EXTRA,
)
PRICE_FIXED = vol.Schema(
    {
        vol.Required("kind"): "fixed",
        vol.Required("import_per_kwh"): _number(-10, 10),
        vol.Optional("export_per_kwh", default=0.0): _number(-10, 10),
    },
    extra=vol.PREVENT_EXTRA,
)
_DAY_KIND = vol.In(DAY_KINDS)
TOU_PERIOD = vol.Schema(
    {
        vol.Required("start"): _clock,
        # Without end a period lasts until the next period's start on the same kind of day.
        vol.Optional("end"): _clock,
        # Weekdays and weekends by default; public holidays take the weekend's periods unless some
        # period names "holiday" (the calendar of the site's country).
        vol.Optional("days"): vol.All([_DAY_KIND], vol.Length(min=1, max=3)),
        vol.Required("import_per_kwh"): _number(-10, 10),
        vol.Optional("export_per_kwh"): _number(-10, 10),
    },
    extra=vol.PREVENT_EXTRA,
)
TOU_PERIODS = vol.All([TOU_PERIOD], vol.Length(min=1, max=48))
PRICE_TOU = vol.Schema(
    {
        vol.Required("kind"): "tou",
        vol.Optional("export_per_kwh", default=0.0): _number(-10, 10),
        vol.Exclusive("periods", "shape"): TOU_PERIODS,
        # Date ranges MM-DD to MM-DD (both included, may wrap the new year), each with its periods.
        vol.Exclusive("seasons", "shape"): vol.All(
            [
                vol.Schema(
                    {
                        vol.Optional("name"): vol.All(str, vol.Length(max=100)),
                        vol.Required("start"): _month_day,
                        vol.Required("end"): _month_day,
                        vol.Required("periods"): TOU_PERIODS,
                    },
                    extra=vol.PREVENT_EXTRA,
                )
            ],
            vol.Length(min=1, max=12),
        ),
    },
    extra=vol.PREVENT_EXTRA,
)


def _price(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise vol.Invalid("expected an object with kind entity, fixed or tou")
    schema = {"entity": PRICE_ENTITY, "fixed": PRICE_FIXED, "tou": PRICE_TOU}.get(str(value.get("kind")))
    if schema is None:
        raise vol.Invalid(f"kind must be entity, fixed or tou, got {value.get('kind')!r}", path=["kind"])
    return schema(dict(value))


_describes(_entity, type="string", pattern=ENTITY.pattern, description="a Home Assistant entity id")
_describes(
    _optional_entity,
    anyOf=[{"type": "string", "pattern": ENTITY.pattern}, {"const": ""}, {"type": "null"}],
    description="a Home Assistant entity id; empty or null for none",
)
_describes(_timezone, type="string", minLength=1, maxLength=64, description="IANA time zone name")
_describes(_clock, type="string", pattern=HHMM.pattern, description="local time HH:MM")
_describes(_month_day, type="string", pattern=MMDD.pattern, description="a date MM-DD")
_describes(
    _country,
    anyOf=[{"type": "string", "pattern": "^[A-Za-z]{2}$"}, {"const": ""}, {"type": "null"}],
    description="ISO 3166 country code (public holidays of a time-of-use tariff); empty or null for none",
)
_describes(_finite, type="number")
_describes(_reject_bool, type="integer")
_describes(_id, type="string", minLength=1, maxLength=100)
_describes(
    _location,
    anyOf=[LOCATION, {"type": "null"}],
    description="where the home is (Home Assistant's home location); the PV forecast needs it",
)
_describes(_price, oneOf=[PRICE_ENTITY, PRICE_FIXED, PRICE_TOU], description="where prices come from")


BATTERY = vol.Schema(
    {
        **_ASSET,
        vol.Required("capacity_kwh"): _number(0.1, 1000),
        vol.Required("max_charge_w"): _watts(),
        vol.Required("max_discharge_w"): _watts(),
        vol.Optional("min_soc_pct", default=10.0): _number(0, 100),
        vol.Optional("max_soc_pct", default=100.0): _number(0, 100),
        # Round trip (energy out ÷ energy in, as datasheets state it), or the older one-way figure.
        vol.Optional("round_trip_efficiency"): _number(0.25, 1.0),
        vol.Optional("efficiency"): _number(0.5, 1.0),
        # Wear per kWh charged and again per kWh discharged, in the site's currency.
        vol.Optional("wear_cost_per_kwh", default=0.0): _number(0, 1),
        vol.Optional("initial_soc_pct"): vol.Any(None, _number(0, 100)),
        vol.Optional("soc_entity"): _optional_entity,
        vol.Optional("energy_in_entity"): _optional_entity,
        vol.Optional("energy_out_entity"): _optional_entity,
        vol.Optional("power_entity"): _optional_entity,
        vol.Optional("mode", default="auto"): vol.In(("auto", "hold", "charge", "off")),
    },
    extra=vol.PREVENT_EXTRA,
)

EV = vol.Schema(
    {
        **_ASSET,
        vol.Required("battery_kwh"): _number(1, 500),
        # The power range: max/min_charge_w, or the charger's electrics (or both: the narrower wins).
        vol.Optional("max_charge_w"): _watts(),
        vol.Optional("min_charge_w", default=0.0): vol.Any(0, 0.0, _watts()),
        vol.Optional("phases"): vol.All(_reject_bool, int, vol.In((1, 2, 3))),
        vol.Optional("voltage_v", default=230.0): _number(100, 260),
        vol.Optional("min_current_a"): _number(1, 80),
        vol.Optional("max_current_a"): _number(1, 80),
        vol.Optional("soc_entity"): _optional_entity,
        # An output only (what the plan switches); the plug state comes from plugged_entity.
        vol.Optional("charger_entity"): _optional_entity,
        vol.Optional("plugged_entity"): _optional_entity,
        vol.Optional("soc_pct"): vol.Any(None, _number(0, 100)),
        vol.Optional("departure", default="07:00"): _clock,
        vol.Optional("target_soc_pct", default=80.0): _number(0, 100),
    },
    extra=vol.PREVENT_EXTRA,
)

APPLIANCE = vol.Schema(
    {
        **_ASSET,
        vol.Required("power_w"): _watts(),
        vol.Required("duration_min"): vol.All(int, vol.Range(min=1, max=24 * 60)),
        vol.Optional("switch_entity"): _optional_entity,
        vol.Optional("finish_by"): vol.Any(None, _clock),
        vol.Optional("smart_start", default=True): bool,
    },
    extra=vol.PREVENT_EXTRA,
)

THERMAL = vol.Schema(
    {
        **_ASSET,
        vol.Required("kind"): vol.In(("water_heater", "heat_pump")),
        vol.Required("power_w"): _watts(),
        vol.Optional("switch_entity"): _optional_entity,
        vol.Optional("temperature_entity"): _optional_entity,
        vol.Optional("min_temp_c", default=45.0): _number(-30, 100),
        vol.Optional("max_temp_c", default=60.0): _number(-30, 100),
        # Physics the optimizer's model checks (its ranges, its messages); defaults per kind there.
        vol.Optional("cop"): _finite,
        vol.Optional("heat_capacity_kwh_per_k"): _finite,
        vol.Optional("loss_kw_per_k"): _finite,
        vol.Optional("draw_kw"): _finite,
    },
    extra=vol.PREVENT_EXTRA,
)

SITE = vol.Schema(
    {
        vol.Optional("name", default="Home"): vol.All(str, vol.Length(min=1, max=100)),
        vol.Optional("timezone", default="UTC"): _timezone,
        vol.Optional("currency", default="EUR"): vol.All(str, vol.Match(r"^[A-Z]{3}$")),
        # ISO 3166 code of the country whose public holidays a time-of-use tariff prices.
        vol.Optional("country"): _country,
        vol.Optional("mode", default="cost"): vol.In(("cost", "self_consumption")),
        vol.Optional("optimization_interval_min", default=15): vol.All(int, vol.Range(min=5, max=1440)),
        # Nobody is at home: the planner uses eco comfort bands for heating (see engine_site).
        vol.Optional("home_empty", default=False): bool,
        vol.Optional("location"): _location,
        vol.Optional("grid", default=dict): GRID,
        vol.Optional("solar", default=list): [SOLAR],
        vol.Optional("price", default=lambda: {"kind": "fixed", "import_per_kwh": 0.3}): _price,
        vol.Optional("meters", default=list): [
            vol.Schema(
                {vol.Required("entity_id"): _entity, vol.Optional("name"): vol.All(str, vol.Length(max=100))},
                extra=vol.PREVENT_EXTRA,
            )
        ],
        vol.Optional("batteries", default=list): vol.All([BATTERY], vol.Length(max=10)),
        vol.Optional("evs", default=list): vol.All([EV], vol.Length(max=10)),
        vol.Optional("appliances", default=list): vol.All([APPLIANCE], vol.Length(max=30)),
        vol.Optional("thermal_loads", default=list): vol.All([THERMAL], vol.Length(max=10)),
        # Written by the store on every PUT; a document read back and sent again carries it.
        vol.Optional("updated_at"): vol.Any(None, str),
    },
    extra=vol.PREVENT_EXTRA,
)


def field_path(path: list[Any]) -> str:
    """['batteries', 0, 'capacity_kwh'] -> 'batteries[0].capacity_kwh'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(site)"


def validate_site_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised document (defaults filled in), or :class:`InputRejected` naming the field."""
    try:
        site: dict[str, Any] = SITE(dict(document))
    except vol.MultipleInvalid as err:
        first = err.errors[0]
        where = field_path(first.path)
        if first.error_message == "extra keys not allowed":
            raise InputRejected(_unknown_key_message(first.path), field=where) from err
        raise InputRejected(f"{where}: {first.msg}", field=where) from err
    site.pop("updated_at", None)
    _check_cross_fields(site)
    return site


_ITEM_SCHEMAS: dict[str, vol.Schema] = {
    "batteries": BATTERY,
    "evs": EV,
    "appliances": APPLIANCE,
    "thermal_loads": THERMAL,
    "solar": SOLAR,
    "grid": GRID,
    "location": LOCATION,
}


def _keys(schema: vol.Schema) -> set[str]:
    return {str(key) for key in schema.schema}


def _unknown_key_message(path: list[Any]) -> str:
    """Name the unknown key and, for a likely typo, the known key it resembles."""
    key = str(path[-1])
    parents = [p for p in path[:-1] if not isinstance(p, int)]
    if not parents:
        known = _keys(SITE)
    elif parents[0] in _ITEM_SCHEMAS:
        known = _keys(_ITEM_SCHEMAS[parents[0]])
    elif parents[0] == "price":
        known = set().union(*(_keys(s) for s in (PRICE_ENTITY, PRICE_FIXED, PRICE_TOU)))
        known |= _keys(TOU_PERIOD) | {"seasons", "name"}
    else:
        known = set()
    message = f"{field_path(path)}: unknown key {key!r}"
    close = difflib.get_close_matches(key, sorted(known - {"updated_at"}), n=1, cutoff=0.6)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message


def _check_charger(index: int, ev: Mapping[str, Any]) -> None:
    where = f"evs[{index}]"
    if ev.get("phases") is None and (ev.get("min_current_a") or ev.get("max_current_a")):
        raise InputRejected(
            f"{where}.phases: give the charger's phases (1 or 3) to use its currents", field=f"{where}.phases"
        )
    low, high = charger_range_w(ev)
    if high is None:
        raise InputRejected(
            f"{where}.max_charge_w: give max_charge_w or the charger's phases and max_current_a",
            field=f"{where}.max_charge_w",
        )
    low_a, high_a = ev.get("min_current_a"), ev.get("max_current_a")
    if low_a is not None and high_a is not None and low_a > high_a:
        raise InputRejected(
            f"{where}.min_current_a: must not exceed max_current_a ({high_a:g} A)",
            field=f"{where}.min_current_a",
        )
    if low > high:
        raise InputRejected(
            f"{where}.min_charge_w: the charger's minimum {low:g} W exceeds its maximum {high:g} W",
            field=f"{where}.min_charge_w",
        )


def _check_tariff(price: Mapping[str, Any]) -> None:
    """Periods that overlap or leave gaps (on any kind of day, in any season) are refused here."""
    if price.get("kind") != "tou":
        return
    try:
        time_of_use_from(price, "import_per_kwh", where="price")
    except ConfigError as err:
        raise InputRejected(f"{err.field}: {err.problem}", field=err.field) from err


def _check_cross_fields(site: Mapping[str, Any]) -> None:
    _check_tariff(site["price"])
    seen: dict[str, str] = {}
    for kind in ("batteries", "evs", "appliances", "thermal_loads"):
        for index, asset in enumerate(site[kind]):
            where = f"{kind}[{index}]"
            if asset["id"] in seen:
                raise InputRejected(
                    f"{where}.id: {asset['id']!r} is already used by {seen[asset['id']]}", field=f"{where}.id"
                )
            seen[asset["id"]] = where
    for index, battery in enumerate(site["batteries"]):
        if battery.get("round_trip_efficiency") is not None and battery.get("efficiency") is not None:
            raise InputRejected(
                f"batteries[{index}].efficiency: give either round_trip_efficiency or the one-way "
                "efficiency, not both",
                field=f"batteries[{index}].efficiency",
            )
        if battery["min_soc_pct"] >= battery["max_soc_pct"]:
            raise InputRejected(
                f"batteries[{index}].min_soc_pct: must be below max_soc_pct ({battery['max_soc_pct']:g})",
                field=f"batteries[{index}].min_soc_pct",
            )
    for index, ev in enumerate(site["evs"]):
        _check_charger(index, ev)
    for index, load in enumerate(site["thermal_loads"]):
        if load["min_temp_c"] >= load["max_temp_c"]:
            raise InputRejected(
                f"thermal_loads[{index}].min_temp_c: must be below max_temp_c ({load['max_temp_c']:g} °C)",
                field=f"thermal_loads[{index}].min_temp_c",
            )
