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


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("expected a non-empty name")
    return value.strip()


Days = vol.Any(
    vol.In(DAY_KINDS), [vol.In(DAY_KINDS)], msg=f"expected one or a list of {', '.join(DAY_KINDS)}"
)
TARIFF_PERIOD = vol.Schema(
    {
        vol.Required("start"): vol.Any(str, time),
        # Without end a period lasts until the next period's start (on the same kind of day).
        vol.Optional("end"): vol.Any(str, time),
        vol.Optional("days"): Days,
        vol.Required("buy_eur_per_kwh"): Number,
        vol.Optional("sell_eur_per_kwh"): Number,
    }
)
TARIFF = vol.Schema(
    {
        vol.Exclusive("periods", "shape"): [TARIFF_PERIOD],
        vol.Exclusive("seasons", "shape"): [
            vol.Schema(
                {
                    vol.Optional("name"): str,
                    vol.Required("start"): str,
                    vol.Required("end"): str,
                    vol.Required("periods"): [TARIFF_PERIOD],
                }
            )
        ],
        # The feed-in price of periods that give none.
        vol.Optional("sell_eur_per_kwh"): Number,
    }
)
GRID = vol.Schema(
    {
        vol.Optional("import_limit_kw"): Number,
        vol.Optional("export_limit_kw"): Number,
        vol.Optional("tariff"): TARIFF,
        vol.Optional("peak_demand_charge_eur_per_kw"): Number,
    }
)
BATTERY = vol.Schema(
    {
        vol.Required("name"): _name,
        vol.Required("capacity_kwh"): Number,
        vol.Required("max_charge_kw"): Number,
        vol.Required("max_discharge_kw"): Number,
        vol.Required("initial_soc"): Number,
        vol.Optional("soc_min"): Number,
        vol.Optional("soc_max"): Number,
        vol.Optional("charge_efficiency"): Number,
        vol.Optional("discharge_efficiency"): Number,
        vol.Optional("wear_cost_eur_per_kwh"): Number,
        vol.Optional("terminal_soc"): vol.Any(None, Number),
        vol.Optional("terminal_value_eur_per_kwh"): Number,
        vol.Optional("may_export"): Boolean,
    }
)
EV = vol.Schema(
    {
        vol.Required("name"): _name,
        vol.Required("capacity_kwh"): Number,
        vol.Required("soc_now"): Number,
        vol.Required("target_soc"): Number,
        vol.Required("max_charge_kw"): Number,
        vol.Optional("min_charge_kw"): Number,
        vol.Optional("departure"): vol.Any(None, Moment),
        vol.Optional("arrival"): vol.Any(None, Moment),
        vol.Optional("plugged_in"): Boolean,
        vol.Optional("charge_efficiency"): Number,
    }
)
PROFILE_APPLIANCE = vol.Schema(
    {
        vol.Required("name"): _name,
        vol.Required("type"): "profile",
        vol.Required("profile_kw"): vol.All([Number], vol.Length(min=1, msg="the power profile is empty")),
        vol.Optional("profile_step_minutes"): vol.All(Number, vol.Range(min=1, msg="must be >= 1 minute")),
        vol.Optional("earliest_start"): vol.Any(None, Moment),
        vol.Optional("latest_finish"): vol.Any(None, Moment),
    }
)
ENERGY_APPLIANCE = vol.Schema(
    {
        vol.Required("name"): _name,
        vol.Required("type"): "energy",
        vol.Required("energy_kwh"): Number,
        vol.Required("max_power_kw"): Number,
        vol.Optional("min_power_kw"): Number,
        vol.Optional("earliest_start"): vol.Any(None, Moment),
        vol.Optional("latest_finish"): vol.Any(None, Moment),
        vol.Optional("min_on_minutes"): Number,
        vol.Optional("min_off_minutes"): Number,
    }
)
THERMAL = vol.Schema(
    {
        vol.Required("name"): _name,
        vol.Required("max_power_kw"): Number,
        vol.Required("cop"): Number,
        vol.Required("heat_capacity_kwh_per_k"): Number,
        vol.Required("loss_kw_per_k"): Number,
        vol.Required("initial_temp_c"): Number,
        vol.Required("min_temp_c"): Number,
        vol.Required("max_temp_c"): Number,
        vol.Optional("ambient_c"): Number,
        vol.Optional("uses_outdoor_temperature"): Boolean,
        vol.Optional("draw_kw"): Number,
    }
)
HORIZON = vol.Schema(
    {
        vol.Optional("start"): Moment,
        vol.Required("steps"): [
            vol.Schema(
                {vol.Required("minutes"): Number, vol.Required("count"): vol.All(int, vol.Range(min=0))}
            )
        ],
    }
)
SITE = vol.Schema(
    {
        vol.Optional("name"): _name,
        vol.Optional("timezone"): str,
        vol.Optional("country"): object,  # checked by country_code (a YAML NO is a boolean)
        vol.Optional("currency"): vol.Match(r"^[A-Z]{3}$", msg="expected a three-letter currency code (EUR)"),
        vol.Optional("grid"): GRID,
        vol.Optional("pv"): vol.Schema({vol.Optional("curtailable"): Boolean}),
        vol.Optional("batteries"): [BATTERY],
        vol.Optional("evs"): [EV],
        vol.Optional("appliances"): [dict],
        vol.Optional("thermal"): [THERMAL],
        vol.Optional("horizon"): HORIZON,
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
