"""The plan executor: applies each battery's mode and targets at step boundaries, and closes the loop.

The plan comes as an :class:`~.execution_plan.ExecutionPlan`, made from the optimizer's typed result
(never re-read from the rounded API document). Execution semantics are exactly the backtest's
(:mod:`shems_optimizer.core.control`): every plan step becomes a *mode with targets*
(:func:`~shems_optimizer.core.control.commands_from_plan`), and the
:class:`~shems_optimizer.core.control.LocalController` turns that mode, the measured load and PV and the
battery's SOC into a battery power every tick, absorbing forecast errors inside the plan's SOC
corridor. With several batteries, each one's controller counts the others' planned charging as load
and their planned discharging as supply, as its modes were derived. At each step boundary the
battery device gets ``set_mode`` (the mode and its targets, so a device with its own controller can
follow it alone); when load, PV and SOC are measured, it also gets
``set_power`` whenever the controller's answer moves by more than the dead band. Every decision is
kept in a journal (``GET /api/v1/execution``) and logged.

A battery receives commands when a device with the battery's id is registered (MQTT or a Home
Assistant entity); without one the executor still computes and journals what it would do.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shems_optimizer.app.site.engine_site import one_way_efficiency
from shems_optimizer.core.control import BatteryLimits, LocalController, StepCommand, commands_from_plan
from shems_optimizer.runtime.tasks import cancel_and_wait

from .execution_plan import ExecutionPlan

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class _BatteryRun:
    """One battery's commands for the plan in force, with the other batteries' planned powers per step
    (they count as load and supply for this battery, as when its modes were derived)."""

    plan_id: str
    commands: list[StepCommand]
    limits: BatteryLimits
    others_charge_w: tuple[float, ...]
    others_discharge_w: tuple[float, ...]

    def step(self, now: datetime) -> tuple[int, StepCommand] | None:
        return next(((i, c) for i, c in enumerate(self.commands) if c.start <= now < c.end), None)


@dataclass(frozen=True)
class ExecutorSettings:
    tick_s: float = 10.0
    deadband_w: float = 100.0  # re-send set_power only when the answer moves by more than this
    journal_size: int = 2000


class Measurements(Protocol):
    """What the executor needs measured, ``None`` when unknown."""

    def home_w(self) -> tuple[float, float] | None:
        """(load W without the battery, PV W) right now."""
        ...

    def battery_soc(self, battery_id: str) -> float | None: ...


class CommandSink(Protocol):
    async def submit(
        self, device_id: str, command_type: str, payload: Mapping[str, Any], ttl_s: float | None
    ) -> dict[str, Any]: ...


def limits_for(battery: Mapping[str, Any]) -> BatteryLimits:
    eff = one_way_efficiency(battery)
    return BatteryLimits(
        capacity_wh=float(battery["capacity_kwh"]) * 1000,
        max_charge_w=float(battery["max_charge_w"]),
        max_discharge_w=float(battery["max_discharge_w"]),
        soc_min=float(battery.get("min_soc_pct", 10)) / 100,
        soc_max=float(battery.get("max_soc_pct", 100)) / 100,
        charge_efficiency=eff,
        discharge_efficiency=eff,
    )


def mode_payload(command: StepCommand) -> dict[str, Any]:
    mode = command.battery
    payload: dict[str, Any] = {
        "mode": type(mode).__name__,
        "description": mode.describe(),
        "until": command.end.isoformat(),
    }
    for name in ("target_soc", "max_power_w", "soc_floor", "soc_ceiling"):
        value = getattr(mode, name, None)
        if value is not None:
            payload[name] = round(float(value), 4)
    return payload


class PlanExecutor:
    def __init__(
        self,
        site: Callable[[], Mapping[str, Any] | None],
        plan: Callable[[], ExecutionPlan | None],
        measurements: Measurements,
        commands: CommandSink,
        has_device: Callable[[str], bool],
        settings: ExecutorSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self._site = site
        self._plan = plan
        self._measurements = measurements
        self._commands = commands
        self._has_device = has_device
        self._settings = settings = settings or ExecutorSettings()
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._schedule: dict[str, _BatteryRun] = {}
        self._current: dict[str, StepCommand] = {}
        self._last_power: dict[str, float] = {}
        self.journal: deque[dict[str, Any]] = deque(maxlen=settings.journal_size)

    def _refresh_schedule(self) -> None:
        plan, site = self._plan(), self._site()
        if plan is None or site is None:
            self._schedule = {}
            return
        schedule: dict[str, _BatteryRun] = {}
        for battery in site.get("batteries", []):
            known = self._schedule.get(battery["id"])
            if known is not None and known.plan_id == plan.plan_id:
                schedule[battery["id"]] = known
                continue
            limits = limits_for(battery)
            others_charge, others_discharge = plan.others_w(battery["id"])
            schedule[battery["id"]] = _BatteryRun(
                plan.plan_id,
                commands_from_plan(plan.steps_for(battery["id"]), limits),
                limits,
                others_charge,
                others_discharge,
            )
            self._current.pop(battery["id"], None)
        self._schedule = schedule

    async def tick(self) -> list[dict[str, Any]]:
        """One control tick for every battery; returns the journal entries it wrote."""
        self._refresh_schedule()
        now = self._clock()
        entries = []
        home = self._measurements.home_w()
        for battery_id, run in self._schedule.items():
            found = run.step(now)
            if found is None:
                continue
            index, command = found
            plan_id, limits = run.plan_id, run.limits
            entry: dict[str, Any] = {
                "time": now.isoformat(),
                "asset_id": battery_id,
                "plan_id": plan_id,
                "mode": type(command.battery).__name__,
                "step_start": command.start.isoformat(),
            }
            if self._current.get(battery_id) != command:
                self._current[battery_id] = command
                entry["new_step"] = True
                entry["mode_payload"] = mode_payload(command)
                if self._has_device(battery_id):
                    sent = await self._commands.submit(battery_id, "set_mode", entry["mode_payload"], None)
                    entry["set_mode_command"] = sent["command_id"]
                _LOGGER.info(
                    "battery mode for this step",
                    extra={"asset_id": battery_id, "mode": command.battery.describe()},
                )
            soc = self._measurements.battery_soc(battery_id)
            if home is not None and soc is not None:
                load_w, pv_w = home
                result = LocalController(limits).tick(
                    command.battery,
                    load_w + run.others_charge_w[index],
                    pv_w + run.others_discharge_w[index],
                    soc,
                    self._settings.tick_s,
                    ev_w=command.ev_w,
                )
                entry.update(
                    soc=round(soc, 4),
                    load_w=load_w,
                    pv_w=pv_w,
                    battery_w=round(result.battery_w, 1),
                    grid_w=round(result.grid_w, 1),
                )
                last = self._last_power.get(battery_id)
                if (
                    last is None
                    or abs(result.battery_w - last) > self._settings.deadband_w
                    or entry.get("new_step")
                ):
                    self._last_power[battery_id] = result.battery_w
                    if self._has_device(battery_id):
                        sent = await self._commands.submit(
                            battery_id,
                            "set_power",
                            {"power_w": round(result.battery_w, 1)},
                            self._settings.tick_s * 3,
                        )
                        entry["set_power_command"] = sent["command_id"]
            else:
                entry["measured"] = False
            self.journal.append(entry)
            entries.append(entry)
        return entries

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="shems-plan-executor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                _LOGGER.exception("plan executor tick failed; trying again next tick")
            await asyncio.sleep(self._settings.tick_s)

    def recent(self, limit: int) -> Sequence[dict[str, Any]]:
        return list(self.journal)[-limit:]
