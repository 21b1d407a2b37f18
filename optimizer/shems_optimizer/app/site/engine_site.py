"""Build the optimizer's site model from the site document, the live state and the schedules.

Units: the document speaks W, %, HH:MM local times and asset ids; the model speaks kW, fractions,
aware datetimes and asset names (the document's ids are used as names, so the plan maps back 1:1).
Battery ``round_trip_efficiency`` (what a datasheet states: energy out ÷ energy in) becomes the
one-way efficiency ``sqrt(round trip)`` the model applies on charge and again on discharge; the older
``efficiency`` field is one-way already. Values that must be measured (battery SOC, EV SOC and plug
state, tank temperature) come from :class:`LiveValues`; when one is unknown, or the grid limits are
not given, the documented fallback is used and a note says so in the plan.

While the document says the home is empty (``home_empty``), the comfort bands widen to eco bands: a
heat pump's lower bound drops by :data:`ECO_SETBACK_K`, a water heater keeps its minimum (hygiene),
and a note says so. The model only ever sees the bands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from shems_optimizer.core.model.assets import (
    Appliance,
    Battery,
    ElectricVehicle,
    ProfileAppliance,
    ThermalLoad,
)
from shems_optimizer.core.model.calendar import country_code
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.site import PV, Grid, Site
from shems_optimizer.core.model.tariff import Fixed, Tariff, TimeOfUse, time_of_use_from
from shems_optimizer.runtime.errors import InputRejected

from .ev_charger import charger_range_w

APPLIANCE_STEP = timedelta(minutes=15)
DEFAULT_GRID_LIMIT_W = 17_000.0  # a common 3 × 25 A house connection, assumed when none is given
# Thermal defaults when the document gives none: a 200 l tank (0.232 kWh/K, ~1.5 kWh/day standing
# loss at 55 °C in a 20 °C room) and a heat pump on a mid-sized house (5 kWh/K, 0.15 kW/K, COP 3).
THERMAL_DEFAULTS: dict[str, dict[str, float]] = {
    "water_heater": {"cop": 1.0, "heat_capacity_kwh_per_k": 0.232, "loss_kw_per_k": 0.0018, "draw_kw": 0.1},
    "heat_pump": {"cop": 3.0, "heat_capacity_kwh_per_k": 5.0, "loss_kw_per_k": 0.15, "draw_kw": 0.0},
}
# While nobody is at home the rooms may cool this much below the heat pump's minimum (eco band).
ECO_SETBACK_K = 3.0


@dataclass(frozen=True)
class LiveValues:
    """Measured state at planning time, by asset id (fractions for SOC)."""

    battery_soc: Mapping[str, float] = field(default_factory=dict)
    ev_soc: Mapping[str, float] = field(default_factory=dict)
    ev_plugged: Mapping[str, bool] = field(default_factory=dict)
    temperature_c: Mapping[str, float] = field(default_factory=dict)
    # Per appliance with a start switch: True while a run waits behind the switched-off switch.
    appliance_waiting: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplianceRequest:
    """A schedule's goal for one appliance run."""

    appliance_id: str
    finish_by: datetime
    earliest_start: datetime | None = None


def one_way_efficiency(battery: Mapping[str, Any]) -> float:
    """The efficiency of one direction (charging, or discharging) from the document's battery."""
    round_trip = battery.get("round_trip_efficiency")
    if round_trip is not None:
        return math.sqrt(float(round_trip))
    return float(battery.get("efficiency", 0.95))


def next_local(now: datetime, hhmm: str, tz: ZoneInfo) -> datetime:
    """The next occurrence of a local wall-clock time after ``now`` (DST-correct)."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), tzinfo=tz)
    return candidate


def document_tariff(doc: Mapping[str, Any]) -> Tariff | None:
    """The document's fixed or time-of-use tariff; None for prices from an entity (market prices)."""
    price = doc.get("price", {})
    kind = price.get("kind")
    if kind not in ("fixed", "tou"):
        return None
    sell = float(price.get("export_per_kwh") or 0.0)
    if kind == "fixed":
        buy_rule: Fixed | TimeOfUse = Fixed(float(price["import_per_kwh"]))
        sell_rule: Fixed | TimeOfUse = Fixed(sell)
    else:
        buy_rule = time_of_use_from(price, "import_per_kwh", where="price")
        sell_rule = time_of_use_from(price, "export_per_kwh", sell, where="price")
    return Tariff(
        buy=buy_rule,
        sell=sell_rule,
        timezone=str(doc.get("timezone", "UTC")),
        country=country_code("country", doc.get("country")),
        currency=str(doc.get("currency", "EUR")),
    )


def tariff_prices(site: Mapping[str, Any], moments: Sequence[datetime]) -> list[tuple[float, float]] | None:
    """(buy, sell) per kWh at each of ``moments`` from the document's fixed or time-of-use tariff;
    None for prices from an entity."""
    tariff = document_tariff(site)
    if tariff is None:
        return None
    if not moments:
        return []
    index = pd.DatetimeIndex(pd.to_datetime(list(moments), utc=True))
    return list(zip(tariff.buy_prices(index).tolist(), tariff.sell_prices(index).tolist(), strict=True))


def build_site(
    doc: Mapping[str, Any],
    now: datetime,
    live: LiveValues | None = None,
    requests: Sequence[ApplianceRequest] = (),
) -> tuple[Site, list[str]]:
    """The model and the notes on fallbacks used; :class:`ConfigError` on values the model refuses."""
    live = live or LiveValues()
    tz = ZoneInfo(doc.get("timezone", "UTC"))
    notes: list[str] = []
    grid_doc = doc.get("grid", {})
    tariff = document_tariff(doc)
    limits = {}
    for key, what in (("max_import_w", "import"), ("max_export_w", "export")):
        limits[key] = grid_doc.get(key)
        if limits[key] is None:
            limits[key] = DEFAULT_GRID_LIMIT_W
            notes.append(
                f"grid: no maximum {what} given, {DEFAULT_GRID_LIMIT_W / 1000:g} kW assumed "
                f"(a 3 × 25 A connection); enter your fuse, contract or feed-in limit as the "
                f"maximum grid {what} power in the home's settings"
            )
    grid = Grid(
        import_limit_kw=float(limits["max_import_w"]) / 1000,
        export_limit_kw=float(limits["max_export_w"]) / 1000,
        tariff=tariff,
    )
    batteries = []
    for b in doc.get("batteries", []):
        if b.get("mode") == "off":
            notes.append(f"battery {b['name']} is off: not planned")
            continue
        lo, hi = b["min_soc_pct"] / 100, b["max_soc_pct"] / 100
        soc = live.battery_soc.get(b["id"])
        if soc is None:
            soc = b["initial_soc_pct"] / 100 if b.get("initial_soc_pct") is not None else (lo + hi) / 2
            notes.append(f"battery {b['name']}: SOC not measured, assumed {soc:.0%}")
        hold = b.get("mode") == "hold"
        eff = one_way_efficiency(b)
        batteries.append(
            Battery(
                name=b["id"],
                label=str(b["name"]),
                capacity_kwh=float(b["capacity_kwh"]),
                max_charge_kw=0.0 if hold else b["max_charge_w"] / 1000,
                max_discharge_kw=0.0 if hold else b["max_discharge_w"] / 1000,
                initial_soc=min(max(soc, 0.0), 1.0),
                soc_min=lo,
                soc_max=hi,
                charge_efficiency=eff,
                discharge_efficiency=eff,
                wear_cost_eur_per_kwh=float(b["wear_cost_per_kwh"]),
                terminal_soc=hi if b.get("mode") == "charge" else None,
            )
        )
    evs = []
    for e in doc.get("evs", []):
        soc = live.ev_soc.get(e["id"])
        if soc is None:
            soc = e["soc_pct"] / 100 if e.get("soc_pct") is not None else 0.5
            notes.append(f"EV {e['name']}: SOC not measured, assumed {soc:.0%}")
        plugged = live.ev_plugged.get(e["id"])
        if plugged is None:
            plugged = True
            notes.append(
                f"EV {e['name']}: plug state unknown ({e['plugged_entity']} says neither plugged in nor "
                "unplugged), assumed plugged in"
                if e.get("plugged_entity")
                else f"EV {e['name']}: no plugged-in sensor chosen, assumed plugged in"
            )
        min_w, max_w = charger_range_w(e)
        evs.append(
            ElectricVehicle(
                name=e["id"],
                label=str(e["name"]),
                capacity_kwh=float(e["battery_kwh"]),
                soc_now=min(max(soc, 0.0), 1.0),
                target_soc=e["target_soc_pct"] / 100,
                max_charge_kw=(max_w or 0.0) / 1000,
                min_charge_kw=min_w / 1000,
                departure=next_local(now, e["departure"], tz),
                plugged_in=plugged,
            )
        )
    by_appliance = {r.appliance_id: r for r in requests}
    appliances: list[Appliance] = []
    for a in doc.get("appliances", []):
        request = by_appliance.get(a["id"])
        if not a.get("smart_start", True) and request is None:
            continue
        if request is None and live.appliance_waiting.get(a["id"]) is False:
            # Its start switch is on: the last run was started (or it runs by hand), none waits.
            notes.append(
                f"{a['name']}: not planned while its start switch is on; load it and switch it off"
                " to let SHEMS start it"
            )
            continue
        steps = max(1, math.ceil(a["duration_min"] / 15))
        earliest = max(now, request.earliest_start) if request and request.earliest_start else now
        if request is not None:
            finish: datetime | None = request.finish_by
        elif a.get("finish_by"):
            finish = next_local(now, a["finish_by"], tz)
        else:
            finish = None
        # A deadline too close for the programme stays: the plan reports it as an unmet goal, in
        # words, rather than quietly running the appliance whenever it is cheapest.
        appliances.append(
            ProfileAppliance(
                name=a["id"],
                label=str(a["name"]),
                profile_kw=(a["power_w"] / 1000,) * steps,
                profile_step=APPLIANCE_STEP,
                earliest_start=earliest,
                latest_finish=finish,
            )
        )
    thermal = []
    home_empty = bool(doc.get("home_empty", False))
    eco: list[str] = []
    for t in doc.get("thermal_loads", []):
        defaults = THERMAL_DEFAULTS[t["kind"]]
        temp = live.temperature_c.get(t["id"])
        if temp is None:
            temp = (t["min_temp_c"] + t["max_temp_c"]) / 2
            notes.append(f"{t['name']}: temperature not measured, assumed {temp:.0f} °C")
        min_temp = float(t["min_temp_c"])
        if home_empty and t["kind"] == "heat_pump":
            min_temp -= ECO_SETBACK_K
            eco.append(f"{t['name']} {min_temp:g}–{float(t['max_temp_c']):g} °C")
        thermal.append(
            ThermalLoad(
                name=t["id"],
                label=str(t["name"]),
                max_power_kw=t["power_w"] / 1000,
                cop=float(t.get("cop", defaults["cop"])),
                heat_capacity_kwh_per_k=float(
                    t.get("heat_capacity_kwh_per_k", defaults["heat_capacity_kwh_per_k"])
                ),
                loss_kw_per_k=float(t.get("loss_kw_per_k", defaults["loss_kw_per_k"])),
                initial_temp_c=float(temp),
                min_temp_c=min_temp,
                max_temp_c=float(t["max_temp_c"]),
                draw_kw=float(t.get("draw_kw", defaults["draw_kw"])),
            )
        )
    if home_empty:
        notes.append(_eco_note(doc.get("thermal_loads", []), eco))
    site = Site(
        name=str(doc.get("name", "Home")),
        timezone=tz.key,
        country=tariff.country if tariff is not None else country_code("country", doc.get("country")),
        currency=str(doc.get("currency", "EUR")),
        grid=grid,
        pv=PV(curtailable=False),
        batteries=tuple(batteries),
        evs=tuple(evs),
        appliances=tuple(appliances),
        thermal=tuple(thermal),
    )
    return site, notes


def _eco_note(loads: Sequence[Mapping[str, Any]], eco_bands: Sequence[str]) -> str:
    """What the plan says while the home is empty: the eco bands, and the tanks that keep theirs."""
    note = "the home is empty: eco comfort bands are used"
    if eco_bands:
        note += f" ({', '.join(eco_bands)})"
    kept = [str(t["name"]) for t in loads if t["kind"] == "water_heater"]
    if kept:
        note += f"; {', '.join(kept)}: minimum temperature kept (hygiene)"
    return note


_ENGINE_FIELD = re.compile(r"^(batteries|evs|appliances|thermal)\[([^\]]+)\]\.?(.*)$")
_DOC_KIND = {"batteries": "batteries", "evs": "evs", "appliances": "appliances", "thermal": "thermal_loads"}
_DOC_FIELD = {
    "capacity_kwh": "capacity_kwh",
    "max_charge_kw": "max_charge_w",
    "max_discharge_kw": "max_discharge_w",
    "min_charge_kw": "min_charge_w",
    "soc_min": "min_soc_pct",
    "soc_max": "max_soc_pct",
    "charge_efficiency": "efficiency",
    "discharge_efficiency": "efficiency",
    "target_soc": "target_soc_pct",
    "max_power_kw": "power_w",
    "profile_kw[0]": "power_w",
    "min_temp_c": "min_temp_c",
    "latest_finish": "finish_by",
}


def document_field(doc: Mapping[str, Any], engine_field: str) -> str:
    """Translate the model's field path (``batteries[b1].max_charge_kw``) to the document's
    (``batteries[0].max_charge_w``)."""
    match = _ENGINE_FIELD.match(engine_field)
    if match is None:
        return engine_field.replace("grid.import_limit_kw", "grid.max_import_w").replace(
            "grid.export_limit_kw", "grid.max_export_w"
        )
    kind, name, rest = match.groups()
    doc_kind = _DOC_KIND[kind]
    for index, asset in enumerate(doc.get(doc_kind, [])):
        if asset.get("id") == name:
            return f"{doc_kind}[{index}]" + (f".{_DOC_FIELD.get(rest, rest)}" if rest else "")
    return engine_field


def check_site(doc: Mapping[str, Any], now: datetime) -> None:
    """Validate the document by building the model; :class:`InputRejected` names the document field."""
    try:
        build_site(doc, now)
    except ConfigError as err:
        where = document_field(doc, err.field)
        raise InputRejected(f"{where}: {err.problem}", field=where) from err


def check_site_now(document: Mapping[str, Any]) -> None:
    """Refuse a site the optimizer's model refuses, naming the document's field."""
    check_site(document, datetime.now(tz=UTC))
