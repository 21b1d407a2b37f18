"""Frozen views of what the add-on reports: health, status, plan and meters.

Parsing is strict about types and lenient about absent optional fields, and names the offending field,
so an add-on version mismatch shows up as one clear message instead of an exception deep in an entity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from homeassistant.util import dt as dt_util


class PayloadError(ValueError):
    """A payload from the add-on lacks a field or has one of the wrong type."""


def _obj(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise PayloadError(f"{where}: expected an object, got {type(raw).__name__}")
    return raw


def _str(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{where}.{key}: missing")
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value


def _num(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"{where}.{key}: expected a number, got {type(value).__name__}")
    return float(value) if math.isfinite(value) else None


def _time(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> datetime | None:
    text = _str(raw, key, where, required=required)
    if text is None:
        return None
    parsed = dt_util.parse_datetime(text)
    if parsed is None:
        raise PayloadError(f"{where}.{key}: not an ISO 8601 timestamp: {text!r}")
    if parsed.tzinfo is None:
        raise PayloadError(f"{where}.{key}: timestamp without a time zone: {text!r}")
    return parsed


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    version: str
    instance_id: str


@dataclass(frozen=True, slots=True)
class Readiness:
    """The add-on's readiness: what is wrong, per component, in the add-on's own words."""

    ready: bool
    problems: tuple[tuple[str, str], ...] = ()  # (component, detail)


def parse_readiness(raw: Any) -> Readiness:
    obj = _obj(raw, "readiness")
    ready = obj.get("ready")
    if not isinstance(ready, bool):
        raise PayloadError("readiness.ready: expected true or false")
    problems = []
    for index, item in enumerate(_list(obj, "problems", "readiness")):
        where = f"readiness.problems[{index}]"
        entry = _obj(item, where)
        problems.append((_str(entry, "component", where) or "?", _str(entry, "detail", where) or ""))
    return Readiness(ready=ready and not problems, problems=tuple(problems))


def parse_health(raw: Any) -> Health:
    obj = _obj(raw, "health")
    instance_id = _str(obj, "instance_id", "health", required=True)
    assert instance_id is not None
    return Health(
        status=_str(obj, "status", "health") or "ok",
        version=_str(obj, "version", "health") or "unknown",
        instance_id=instance_id,
    )


@dataclass(frozen=True, slots=True)
class Status:
    optimizer: str
    last_run: datetime | None
    next_run: datetime | None
    last_error: str | None
    cost_today: float | None
    cost_month: float | None
    savings_today: float | None
    savings_month: float | None
    currency: str | None
    prices_updated_at: datetime | None
    today_start: datetime | None = None  # when the "today" totals last started from zero
    month_start: datetime | None = None  # when the "this month" totals last started from zero
    # Which plan is in force and its 7-day cost: the plan (~80 KB) is fetched only when these change.
    plan_id: str | None = None
    cost_next_7d: float | None = None
    # Set-up problems the add-on says a person must fix: code (e.g. "no_home_assistant") → message.
    problems: tuple[tuple[str, str], ...] = ()


def parse_status(raw: Any) -> Status:
    obj = _obj(raw, "status")
    costs = _obj(obj.get("costs") or {}, "status.costs")
    return Status(
        optimizer=_str(obj, "optimizer", "status") or "unknown",
        last_run=_time(obj, "last_run", "status"),
        next_run=_time(obj, "next_run", "status"),
        last_error=_str(obj, "last_error", "status"),
        cost_today=_num(obj, "cost_today", "status"),
        cost_month=_num(obj, "cost_month", "status"),
        savings_today=_num(obj, "savings_today", "status"),
        savings_month=_num(obj, "savings_month", "status"),
        currency=_str(obj, "currency", "status"),
        prices_updated_at=_time(obj, "prices_updated_at", "status"),
        today_start=_time(costs, "today_start", "status.costs"),
        month_start=_time(costs, "month_start", "status.costs"),
        plan_id=_str(obj, "plan_id", "status"),
        cost_next_7d=_num(obj, "cost_next_7d", "status"),
        problems=_problems(obj),
    )


def _problems(obj: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    raw = obj.get("problems") or []
    if not isinstance(raw, list):
        raise PayloadError(f"status.problems: expected a list, got {type(raw).__name__}")
    problems = []
    for i, item in enumerate(raw):
        problem = _obj(item, f"status.problems[{i}]")
        code = _str(problem, "code", f"status.problems[{i}]", required=True) or ""
        problems.append((code, _str(problem, "message", f"status.problems[{i}]") or ""))
    return tuple(problems)


@dataclass(frozen=True, slots=True)
class AssetStep:
    power_w: float | None
    soc_pct: float | None


@dataclass(frozen=True, slots=True)
class PlanStep:
    start: datetime
    end: datetime
    import_price: float | None
    export_price: float | None
    pv_w: float | None
    load_w: float | None
    grid_import_w: float | None
    grid_export_w: float | None
    assets: Mapping[str, AssetStep] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApplianceRun:
    asset_id: str
    planned_start: datetime | None
    planned_end: datetime | None


@dataclass(frozen=True, slots=True)
class EvOutlook:
    asset_id: str
    departure: datetime | None
    projected_soc_pct: float | None


@dataclass(frozen=True, slots=True)
class UnmetGoal:
    asset_id: str | None
    goal: str
    message: str


@dataclass(frozen=True, slots=True)
class Window:
    """A run of plan steps at one import price: the add-on's cheapest-time answer."""

    start: datetime
    end: datetime
    price: float
    # Running: the window began before, and begins with whichever plan step is in force.
    running: bool = False


@dataclass(frozen=True, slots=True)
class CheapestAnswer:
    """The add-on's cheapest windows from ``begins`` until the next answer begins."""

    begins: datetime
    next_24h: Window | None
    today: Window | None


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    created_at: datetime | None
    status: str
    message: str | None
    currency: str | None
    steps: tuple[PlanStep, ...]
    appliances: tuple[ApplianceRun, ...]
    evs: tuple[EvOutlook, ...]
    cost_next_24h: float | None
    cost_next_7d: float | None
    unmet_goals: tuple[UnmetGoal, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    cheapest: tuple[CheapestAnswer, ...] = ()

    def step_at(self, when: datetime) -> PlanStep | None:
        """The step that contains ``when`` (None outside the horizon)."""
        for step in self.steps:
            if step.start <= when < step.end:
                return step
        return None

    def appliance(self, asset_id: str) -> ApplianceRun | None:
        return next((run for run in self.appliances if run.asset_id == asset_id), None)

    def ev(self, asset_id: str) -> EvOutlook | None:
        return next((ev for ev in self.evs if ev.asset_id == asset_id), None)


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where}.{key}: expected a list, got {type(value).__name__}")
    return value


def _step(raw: Any, where: str) -> PlanStep:
    obj = _obj(raw, where)
    start = _time(obj, "start", where, required=True)
    end = _time(obj, "end", where, required=True)
    assert start is not None and end is not None
    assets_raw = obj.get("assets") or {}
    assets = {
        str(asset_id): AssetStep(
            power_w=_num(_obj(values, f"{where}.assets.{asset_id}"), "power_w", where),
            soc_pct=_num(_obj(values, f"{where}.assets.{asset_id}"), "soc_pct", where),
        )
        for asset_id, values in _obj(assets_raw, f"{where}.assets").items()
    }
    return PlanStep(
        start=start,
        end=end,
        import_price=_num(obj, "import_price", where),
        export_price=_num(obj, "export_price", where),
        pv_w=_num(obj, "pv_w", where),
        load_w=_num(obj, "load_w", where),
        grid_import_w=_num(obj, "grid_import_w", where),
        grid_export_w=_num(obj, "grid_export_w", where),
        assets=assets,
    )


def _window(raw: Mapping[str, Any], key: str, where: str) -> Window | None:
    if raw.get(key) is None:
        return None
    obj = _obj(raw[key], f"{where}.{key}")
    start = _time(obj, "start", f"{where}.{key}", required=True)
    end = _time(obj, "end", f"{where}.{key}", required=True)
    price = _num(obj, "price", f"{where}.{key}")
    if start is None or end is None or price is None:
        raise PayloadError(f"{where}.{key}: expected start, end and a finite price")
    running = obj.get("running", False)
    if not isinstance(running, bool):
        raise PayloadError(f"{where}.{key}.running: expected a boolean, got {type(running).__name__}")
    return Window(start=start, end=end, price=price, running=running)


def _cheapest(obj: Mapping[str, Any]) -> tuple[CheapestAnswer, ...]:
    answers = []
    for i, item in enumerate(_list(obj, "cheapest_windows", "plan")):
        where = f"plan.cheapest_windows[{i}]"
        entry = _obj(item, where)
        begins = _time(entry, "from", where, required=True)
        assert begins is not None
        answers.append(
            CheapestAnswer(begins, _window(entry, "next_24h", where), _window(entry, "today", where))
        )
    return tuple(answers)


def parse_plan(raw: Any) -> Plan | None:
    """Parse a plan document; None when the add-on says there is no plan yet."""
    obj = _obj(raw, "plan")
    status = _str(obj, "status", "plan") or "unknown"
    if status == "none":
        return None
    steps = tuple(_step(item, f"plan.steps[{i}]") for i, item in enumerate(_list(obj, "steps", "plan")))
    appliances = []
    for i, item in enumerate(_list(obj, "appliances", "plan")):
        where = f"plan.appliances[{i}]"
        run = _obj(item, where)
        appliances.append(
            ApplianceRun(
                asset_id=_str(run, "id", where, required=True) or "",
                planned_start=_time(run, "planned_start", where),
                planned_end=_time(run, "planned_end", where),
            )
        )
    evs = []
    for i, item in enumerate(_list(obj, "evs", "plan")):
        where = f"plan.evs[{i}]"
        ev = _obj(item, where)
        evs.append(
            EvOutlook(
                asset_id=_str(ev, "id", where, required=True) or "",
                departure=_time(ev, "departure", where),
                projected_soc_pct=_num(ev, "projected_soc_pct", where),
            )
        )
    goals = []
    for i, item in enumerate(_list(obj, "unmet_goals", "plan")):
        where = f"plan.unmet_goals[{i}]"
        goal = _obj(item, where)
        goals.append(
            UnmetGoal(
                asset_id=_str(goal, "asset_id", where),
                goal=_str(goal, "goal", where) or "goal",
                message=_str(goal, "message", where) or "",
            )
        )
    return Plan(
        plan_id=_str(obj, "id", "plan") or (_str(obj, "created_at", "plan") or ""),
        created_at=_time(obj, "created_at", "plan"),
        status=status,
        message=_str(obj, "message", "plan"),
        currency=_str(obj, "currency", "plan"),
        steps=steps,
        appliances=tuple(appliances),
        evs=tuple(evs),
        cost_next_24h=_num(obj, "cost_next_24h", "plan"),
        cost_next_7d=_num(obj, "cost_next_7d", "plan"),
        unmet_goals=tuple(goals),
        raw=obj,
        cheapest=_cheapest(obj),
    )


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter the add-on ingests over MQTT, with its latest reading."""

    meter_id: str
    name: str
    power_w: float | None
    energy_kwh: float | None
    voltage_v: float | None
    current_a: float | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeviceList:
    """The add-on's devices: the meters to show, and the ids of its mirrors of HA's own sensors."""

    meters: tuple[Meter, ...]
    mirror_ids: frozenset[str]


def _device_items(raw: Any) -> list[Any]:
    items = raw.get("devices") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise PayloadError(f"devices: expected a list, got {type(items).__name__}")
    return items


def parse_devices(raw: Any) -> DeviceList:
    mirrors = frozenset(
        str(item.get("device_id"))
        for item in _device_items(raw)
        if isinstance(item, Mapping) and item.get("source") == "site"
    )
    return DeviceList(meters=tuple(parse_meters(raw)), mirror_ids=mirrors)


def parse_meters(raw: Any) -> list[Meter]:
    meters = []
    for i, item in enumerate(_device_items(raw)):
        where = f"devices[{i}]"
        obj = _obj(item, where)
        if obj.get("source") == "site":
            # The add-on's copy of Home Assistant's own sensors (grid, PV, battery named in the site):
            # they exist in HA already, so they are not offered again as SHEMS meters.
            continue
        meter_id = _str(obj, "device_id", where) or _str(obj, "id", where, required=True) or ""
        status = _obj(obj.get("status") or {}, f"{where}.status")
        meters.append(
            Meter(
                meter_id=meter_id,
                name=_str(obj, "name", where) or meter_id,
                power_w=_num(status, "power_w", f"{where}.status"),
                energy_kwh=_num(status, "energy_kwh", f"{where}.status"),
                voltage_v=_num(status, "voltage_v", f"{where}.status"),
                current_a=_num(status, "current_a", f"{where}.status"),
                updated_at=_time(status, "updated_at", f"{where}.status"),
            )
        )
    return meters
