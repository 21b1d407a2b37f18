"""Site configuration from plain data (parsed YAML or JSON), validated with voluptuous.

Every error becomes a :class:`ConfigError` whose ``field`` is the dotted path in the file
(``batteries[0].capacity_kwh``). Times of day may be written ``"07:00"``: they mean the next such
wall-clock time at or after the horizon start, in the site's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import voluptuous as vol

from shems_optimizer.core.model.assets import (
    Appliance,
    Battery,
    ElectricVehicle,
    EnergyAppliance,
    ProfileAppliance,
    ThermalLoad,
)
from shems_optimizer.core.model.calendar import country_code
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.site import PV, Grid, Site
from shems_optimizer.core.model.tariff import DAY_KINDS, Tariff, time_of_use_from

Number = vol.All(vol.Coerce(float), msg="expected a number")
Boolean = vol.Boolean()
Moment = vol.Any(str, datetime, msg="expected an ISO 8601 timestamp with offset or a time of day HH:MM")

# The schemas below are the one description of the site file: the loader validates with them and
# docs/scenario-site.schema.json is generated from them (`shems-optimizer schema --write`). Each
# value says how JSON Schema describes it; the model's classes check the same ranges when built.


def doc(validator: Any, **json_schema: Any) -> Callable[[Any], Any]:
    """``validator``, carrying its JSON Schema (``json_schema``: what the documentation says)."""
    compiled = vol.Schema(validator)

    def check(value: Any) -> Any:
        return compiled(value)

    check.json_schema = json_schema  # type: ignore[attr-defined]
    return check


def number(description: str | None = None, **bounds: Any) -> Callable[[Any], Any]:
    """A number; ``bounds``: minimum, maximum, exclusiveMinimum, default (documentation only)."""
    return doc(Number, type="number", **({"description": description} if description else {}), **bounds)


def boolean(description: str, default: bool) -> Callable[[Any], Any]:
    return doc(Boolean, type="boolean", description=description, default=default)


MOMENT_TEXT = (
    "ISO 8601 timestamp with offset (2026-06-01T07:00:00+02:00), or a time of day HH:MM meaning the "
    "next such local time at or after the horizon start"
)
OptionalMoment = doc(vol.Any(None, Moment), type=["string", "null"], description=MOMENT_TEXT)
NAME = doc(lambda value: _name(value), type="string", minLength=1)
CLOCK = doc(vol.Any(str, time), type="string", description="local time HH:MM")


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("expected a non-empty name")
    return value.strip()


Days = doc(
    vol.Any(vol.In(DAY_KINDS), [vol.In(DAY_KINDS)], msg=f"expected one or a list of {', '.join(DAY_KINDS)}"),
    description="kinds of day the period applies to (default weekday and weekend; holidays take the "
    "weekend's periods unless some period names holiday)",
    anyOf=[{"enum": list(DAY_KINDS)}, {"type": "array", "items": {"enum": list(DAY_KINDS)}}],
)
TARIFF_PERIOD = vol.Schema(
    {
        vol.Required("start"): CLOCK,
        vol.Optional("end"): doc(
            vol.Any(str, time),
            type="string",
            description="local time HH:MM; default: the next period's start on the same kind of day",
        ),
        vol.Optional("days"): Days,
        vol.Required("buy_eur_per_kwh"): number(),
        vol.Optional("sell_eur_per_kwh"): number("default: the tariff's sell_eur_per_kwh"),
    }
)
PERIODS = vol.All([TARIFF_PERIOD], vol.Length(min=1))
TARIFF = vol.Schema(
    {
        vol.Exclusive("periods", "shape"): PERIODS,
        vol.Exclusive(
            "seasons", "shape", description="date ranges, together covering the year once"
        ): vol.All(
            [
                vol.Schema(
                    {
                        vol.Optional("name"): str,
                        vol.Required("start", description="first day MM-DD"): str,
                        vol.Required(
                            "end", description="last day MM-DD (may be before start: wraps the new year)"
                        ): str,
                        vol.Required("periods"): PERIODS,
                    }
                )
            ],
            vol.Length(min=1),
        ),
        vol.Optional("sell_eur_per_kwh"): number("feed-in price of periods that give none"),
    }
)
GRID = vol.Schema(
    {
        vol.Optional("import_limit_kw"): number("maximum import power", minimum=0, default=17),
        vol.Optional("export_limit_kw"): number("maximum export power", minimum=0, default=17),
        vol.Optional(
            "tariff",
            description="Time-of-use prices, used when the CSV has no price columns: the periods of each "
            "kind of day (weekday, weekend, holiday) must cover 24 h without overlap",
        ): TARIFF,
        vol.Optional("peak_demand_charge_eur_per_kw"): number(
            "EUR per kW of the highest import in the horizon", minimum=0, default=0
        ),
    }
)
FRACTION = {"minimum": 0, "maximum": 1}
BATTERY = vol.Schema(
    {
        vol.Required("name"): NAME,
        vol.Required("capacity_kwh"): number("usable capacity", exclusiveMinimum=0, maximum=1000),
        vol.Required("max_charge_kw"): number("AC-side charge limit", minimum=0, maximum=250),
        vol.Required("max_discharge_kw"): number("AC-side discharge limit", minimum=0, maximum=250),
        vol.Required("initial_soc"): number("SOC now", **FRACTION),
        vol.Optional("soc_min"): number("lowest SOC", **FRACTION, default=0.1),
        vol.Optional("soc_max"): number("highest SOC", **FRACTION, default=1.0),
        vol.Optional("charge_efficiency"): number("AC to stored", minimum=0.5, maximum=1, default=0.95),
        vol.Optional("discharge_efficiency"): number("stored to AC", minimum=0.5, maximum=1, default=0.95),
        vol.Optional("wear_cost_eur_per_kwh"): number(
            "per kWh charged and per kWh discharged", minimum=0, default=0
        ),
        vol.Optional("terminal_soc"): doc(
            vol.Any(None, Number),
            type=["number", "null"],
            **FRACTION,
            description="soft goal: at least this SOC at the end of the horizon",
        ),
        vol.Optional("terminal_value_eur_per_kwh"): number(
            "value of energy left at the end (when no terminal_soc)", default=0
        ),
        vol.Optional("may_export"): boolean("false: the battery only serves the house", True),
    }
)
EV = vol.Schema(
    {
        vol.Required("name"): NAME,
        vol.Required("capacity_kwh"): number("battery size", exclusiveMinimum=0, maximum=1000),
        vol.Required("soc_now"): number("SOC now", **FRACTION),
        vol.Required("target_soc"): number("soft goal by departure (also the charge limit)", **FRACTION),
        vol.Required("max_charge_kw"): number("charger maximum", exclusiveMinimum=0, maximum=250),
        vol.Optional("min_charge_kw"): number(
            "charger minimum when charging (0 or within min..max)", minimum=0, default=0
        ),
        vol.Optional("departure"): OptionalMoment,
        vol.Optional("arrival"): OptionalMoment,
        vol.Optional("plugged_in"): boolean("plugged in now; false: from arrival", True),
        vol.Optional("charge_efficiency"): number("AC to battery", minimum=0.5, maximum=1, default=0.9),
    }
)
PROFILE_APPLIANCE = vol.Schema(
    {
        vol.Required("name"): NAME,
        vol.Required("type"): doc("profile", const="profile"),
        vol.Required("profile_kw"): doc(
            vol.All([Number], vol.Length(min=1, msg="the power profile is empty")),
            type="array",
            items={"type": "number", "minimum": 0},
            minItems=1,
            description="power per profile step, kW",
        ),
        vol.Optional("profile_step_minutes"): doc(
            vol.All(Number, vol.Range(min=1, msg="must be >= 1 minute")),
            type="number",
            description="length of each profile value",
            minimum=1,
            default=15,
        ),
        vol.Optional("earliest_start"): OptionalMoment,
        vol.Optional("latest_finish"): OptionalMoment,
    }
)
ENERGY_APPLIANCE = vol.Schema(
    {
        vol.Required("name"): NAME,
        vol.Required("type"): doc("energy", const="energy"),
        vol.Required("energy_kwh"): number("energy needed in the window", minimum=0, maximum=1000),
        vol.Required("max_power_kw"): number("maximum power", exclusiveMinimum=0, maximum=250),
        vol.Optional("min_power_kw"): number("0 or at least this when on", minimum=0, default=0),
        vol.Optional("earliest_start"): OptionalMoment,
        vol.Optional("latest_finish"): OptionalMoment,
        vol.Optional("min_on_minutes"): number("once on, stay on at least", minimum=0, default=0),
        vol.Optional("min_off_minutes"): number("once off, stay off at least", minimum=0, default=0),
    }
)
THERMAL = vol.Schema(
    {
        vol.Required("name"): NAME,
        vol.Required("max_power_kw"): number("electric power", exclusiveMinimum=0, maximum=250),
        vol.Required("cop"): number(
            "heat per electric kWh (1 for a resistive heater)", minimum=0.5, maximum=10
        ),
        vol.Required("heat_capacity_kwh_per_k"): number("thermal mass", exclusiveMinimum=0),
        vol.Required("loss_kw_per_k"): number("losses per kelvin above ambient", minimum=0),
        vol.Required("initial_temp_c"): number(),
        vol.Required("min_temp_c"): number("comfort band (soft)"),
        vol.Required("max_temp_c"): number("comfort band (soft)"),
        vol.Optional("ambient_c"): number("surroundings", default=20),
        vol.Optional("uses_outdoor_temperature"): boolean("use the CSV's outdoor_temp_c as ambient", False),
        vol.Optional("draw_kw"): number("constant heat taken out (hot water use)", minimum=0, default=0),
    }
)
HORIZON = vol.Schema(
    {
        vol.Optional("start"): doc(
            Moment, type="string", description="ISO 8601 timestamp with offset; default: the first CSV row"
        ),
        vol.Required("steps", description="consecutive segments, e.g. 96 × 15 min then 24 × 60 min"): [
            vol.Schema(
                {
                    vol.Required("minutes"): number("step length", exclusiveMinimum=0),
                    vol.Required("count"): vol.All(int, vol.Range(min=0)),
                }
            )
        ],
    }
)
SITE = vol.Schema(
    {
        vol.Optional("name"): doc(
            lambda value: _name(value), type="string", description="shown in summaries", default="home"
        ),
        vol.Optional("timezone"): doc(
            str, type="string", description="IANA zone used to show times and resolve HH:MM", default="UTC"
        ),
        # checked by country_code (an unquoted YAML NO is a boolean)
        vol.Optional("country"): doc(
            object,
            type="string",
            pattern="^[A-Za-z]{2}$",
            description="ISO 3166 country code whose public holidays a time-of-use tariff (and the load "
            'forecast) knows; quote it in YAML ("NO" unquoted is a boolean)',
        ),
        vol.Optional("currency"): doc(
            vol.Match(r"^[A-Z]{3}$", msg="expected a three-letter currency code (EUR)"),
            type="string",
            pattern="^[A-Z]{3}$",
            description="currency of every price and cost",
            default="EUR",
        ),
        vol.Optional(
            "horizon", description="Optional. Without it the horizon is one step per CSV row."
        ): HORIZON,
        vol.Optional("grid"): GRID,
        vol.Optional("pv"): vol.Schema(
            {
                vol.Optional("curtailable"): boolean(
                    "may the inverter be told to produce less (e.g. at negative export prices)", False
                )
            }
        ),
        vol.Optional("batteries"): [BATTERY],
        vol.Optional("evs"): [EV],
        # Validated per type by _appliance, so an error names the type's own fields; the schema's
        # items are one of the two (a described validator may nest schemas).
        vol.Optional("appliances"): doc(
            [dict], type="array", items={"oneOf": [PROFILE_APPLIANCE, ENERGY_APPLIANCE]}
        ),
        vol.Optional("thermal"): [THERMAL],
    }
)


def _path(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(schema: vol.Schema, data: Any, prefix: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = schema(data)
    except vol.MultipleInvalid as err:
        first = err.errors[0]
        field = _path([*([prefix] if prefix else []), *first.path]) if first.path or prefix else "site"
        message = first.msg
        if message.startswith("extra keys not allowed"):
            message = "unknown setting (check the spelling; see docs/scenario-format.md)"
        elif message.startswith("required key not provided"):
            message = "is required"
        raise ConfigError(field, message) from None
    return result


class _Times:
    """Resolves timestamps and "HH:MM" times of day against the horizon start."""

    def __init__(self, tz: tzinfo, reference: datetime | None) -> None:
        self.tz = tz
        self.reference = reference

    def __call__(self, field: str, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            moment = value
        else:
            text = str(value).strip()
            if len(text) <= 5 and ":" in text:
                return self._time_of_day(field, text)
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise ConfigError(field, f"{text!r} is neither an ISO 8601 timestamp nor HH:MM") from None
        if moment.tzinfo is None:
            raise ConfigError(field, f"{moment.isoformat()} has no time zone offset (add e.g. +01:00)")
        return moment

    def _time_of_day(self, field: str, text: str) -> datetime:
        try:
            wall = time.fromisoformat(text if len(text) == 5 else "0" + text)
        except ValueError:
            raise ConfigError(field, f"{text!r} is not a time of day HH:MM") from None
        if self.reference is None:
            raise ConfigError(field, "a time of day needs a horizon start (give a full timestamp instead)")
        local = self.reference.astimezone(self.tz)
        candidate = datetime.combine(local.date(), wall, self.tz)
        if candidate < local:
            candidate = datetime.combine(local.date() + timedelta(days=1), wall, self.tz)
        return candidate


def _build(field: str, factory: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return factory(**{k: v for k, v in kwargs.items() if v is not None or k in _NULLABLE})
    except ConfigError as err:
        # Re-anchor the asset-level field (batteries[name].x) on the file path (batteries[0].x).
        suffix = err.field.split("].", 1)[1] if "]." in err.field else ""
        raise ConfigError(f"{field}.{suffix}" if suffix else field, err.problem) from None


_NULLABLE = {"terminal_soc", "departure", "arrival", "earliest_start", "latest_finish"}


def site_from_dict(data: Mapping[str, Any], reference: datetime | None = None) -> Site:
    """Validate and build a :class:`Site`; ``reference`` is the horizon start for "HH:MM" times."""
    if not isinstance(data, Mapping):
        raise ConfigError("site", "expected a mapping of settings at the top level")
    raw = _validate(SITE, dict(data), "")
    tz_name = raw.get("timezone", "UTC")
    try:
        tz = ZoneInfo(tz_name)
    except (KeyError, ValueError):
        raise ConfigError("timezone", f"unknown time zone {tz_name!r} (use e.g. Europe/Paris)") from None
    times = _Times(tz, reference)

    country = country_code("country", raw.get("country"))
    currency = raw.get("currency", "EUR")
    grid_raw = raw.get("grid", {})
    tariff = None
    if "tariff" in grid_raw:
        tariff_raw = grid_raw["tariff"]
        if not tariff_raw.get("periods") and not tariff_raw.get("seasons"):
            raise ConfigError("grid.tariff.periods", "a tariff needs at least one period")
        sell = tariff_raw.get("sell_eur_per_kwh")
        tariff = Tariff(
            buy=time_of_use_from(tariff_raw, "buy_eur_per_kwh", where="grid.tariff"),
            sell=time_of_use_from(tariff_raw, "sell_eur_per_kwh", sell, where="grid.tariff"),
            timezone=tz_name,
            country=country,
            currency=currency,
        )
    grid = _build("grid", Grid, **{k: v for k, v in grid_raw.items() if k != "tariff"}, tariff=tariff)
    pv = PV(curtailable=bool(raw.get("pv", {}).get("curtailable", False)))

    batteries = tuple(_build(f"batteries[{i}]", Battery, **b) for i, b in enumerate(raw.get("batteries", [])))
    evs = []
    for i, ev_raw in enumerate(raw.get("evs", [])):
        field = f"evs[{i}]"
        ev = dict(ev_raw)
        for key in ("departure", "arrival"):
            ev[key] = times(f"{field}.{key}", ev.get(key))
        evs.append(_build(field, ElectricVehicle, **ev))
    appliances: list[Appliance] = []
    for i, a in enumerate(raw.get("appliances", [])):
        appliances.append(_appliance(f"appliances[{i}]", a, times))
    thermal = tuple(_build(f"thermal[{i}]", ThermalLoad, **t) for i, t in enumerate(raw.get("thermal", [])))
    # Site-level errors (duplicate names) already name the asset; no re-anchoring.
    return Site(
        name=raw.get("name", "home"),
        timezone=tz_name,
        country=country,
        currency=currency,
        grid=grid,
        pv=pv,
        batteries=batteries,
        evs=tuple(evs),
        appliances=tuple(appliances),
        thermal=thermal,
    )


def _appliance(field: str, data: Any, times: _Times) -> Appliance:
    if not isinstance(data, Mapping):
        raise ConfigError(field, "expected a mapping")
    kind = data.get("type")
    if kind not in ("profile", "energy"):
        raise ConfigError(
            f"{field}.type", "must be 'profile' (runs once: dishwasher) or 'energy' (may pause: water heater)"
        )
    raw = _validate(PROFILE_APPLIANCE if kind == "profile" else ENERGY_APPLIANCE, dict(data), field)
    raw.pop("type")
    for key in ("earliest_start", "latest_finish"):
        raw[key] = times(f"{field}.{key}", raw.get(key))
    if kind == "profile":
        minutes = raw.pop("profile_step_minutes", 15.0)
        raw["profile_kw"] = tuple(raw["profile_kw"])
        step = timedelta(minutes=minutes)
        profile: ProfileAppliance = _build(field, ProfileAppliance, profile_step=step, **raw)
        return profile
    for key in ("min_on", "min_off"):
        minutes = raw.pop(f"{key}_minutes", 0.0)
        raw[key] = timedelta(minutes=minutes)
    energy: EnergyAppliance = _build(field, EnergyAppliance, **raw)
    return energy


def horizon_from_dict(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The optional ``horizon`` block, validated (start may be absent: then the series decides)."""
    raw = data.get("horizon")
    if raw is None:
        return None
    result: dict[str, Any] = _validate(HORIZON, raw, "horizon")
    return result
