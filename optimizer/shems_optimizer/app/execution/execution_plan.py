"""What the plan executor follows, taken from the optimizer's typed :class:`~shems_optimizer.core.plan.Plan`.

Why not the API's plan document: it is rounded for people (0.1 W, 0.01 % SOC), keys every asset by id
with a ``power_w`` whose sign differs by kind (battery + discharge, EV + charging), shows only the
end-of-step SOC and only the base load. Read back, it mixed other batteries into the EV power and
started the first step's SOC at its end. This schedule is made once per plan from the typed result,
with one convention throughout: every power is a non-negative W (``charge_w`` and ``discharge_w``
separately), every SOC a fraction.

The planned home as each battery's controller must see it. The measured home load
(:mod:`shems_optimizer.adapters.homeassistant.measurements`) is the grid exchange without the batteries and
EVs, so it includes appliances and heating: ``load_w`` here is the base load plus every planned appliance and
thermal load; ``ev_w`` is the EVs' planned charging, nothing else. With several batteries, each
battery's steps count the others' planned charging as load and their planned discharging as supply,
so the batteries share the home the way the plan split it instead of each covering all of it.

The schedule is archived with the plan (:meth:`ExecutionPlan.to_json`, :meth:`ExecutionPlan.from_json`)
so a restart resumes execution of the plan in force without solving again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shems_optimizer.core.control import PlanStep
from shems_optimizer.core.plan import Plan

Floats = tuple[float, ...]


def _w(values_kw: Sequence[float]) -> Floats:
    return tuple(float(v) * 1000.0 for v in values_kw)


def _sum(*rows: Sequence[float]) -> Floats:
    return tuple(float(sum(column)) for column in zip(*rows, strict=True))


@dataclass(frozen=True)
class BatterySchedule:
    battery_id: str
    charge_w: Floats  # >= 0, mean over each step
    discharge_w: Floats  # >= 0
    soc_start: float  # fraction before the first step
    soc_end: Floats  # fraction at the end of each step

    @property
    def soc_starts(self) -> Floats:
        return (self.soc_start, *self.soc_end[:-1])


@dataclass(frozen=True)
class ExecutionPlan:
    plan_id: str
    boundaries: tuple[datetime, ...]  # step i is [boundaries[i], boundaries[i + 1])
    load_w: Floats  # base load + planned appliances + planned thermal loads
    pv_w: Floats  # the PV the plan uses (forecast minus curtailment)
    ev_w: Floats  # the EVs' planned charging
    grid_import_w: Floats
    grid_export_w: Floats
    batteries: tuple[BatterySchedule, ...]

    def __post_init__(self) -> None:
        steps = len(self.boundaries) - 1
        rows = [self.load_w, self.pv_w, self.ev_w, self.grid_import_w, self.grid_export_w]
        for battery in self.batteries:
            rows += [battery.charge_w, battery.discharge_w, battery.soc_end]
        if steps < 1 or any(len(row) != steps for row in rows):
            raise ValueError(f"execution plan {self.plan_id}: every series needs {steps} steps")

    @classmethod
    def from_plan(cls, plan: Plan, plan_id: str) -> ExecutionPlan:
        power, steps = plan.power, plan.grid.steps
        flexible = [a.power_kw for a in plan.appliances] + [t.power_kw for t in plan.thermal]
        ev = [e.charge_kw for e in plan.evs]
        zeros = (0.0,) * steps
        return cls(
            plan_id=plan_id,
            boundaries=tuple(plan.grid.boundaries),
            load_w=_w(_sum(power.load_kw, *flexible)),
            pv_w=_w(_sum(power.pv_forecast_kw, tuple(-c for c in power.pv_curtailed_kw))),
            ev_w=_w(_sum(*ev)) if ev else zeros,
            grid_import_w=_w(power.import_kw),
            grid_export_w=_w(power.export_kw),
            batteries=tuple(
                BatterySchedule(
                    battery_id=b.name,
                    charge_w=_w(b.charge_kw),
                    discharge_w=_w(b.discharge_kw),
                    soc_start=float(b.soc_start),
                    soc_end=tuple(float(s) for s in b.soc),
                )
                for b in plan.batteries
            ),
        )

    def battery(self, battery_id: str) -> BatterySchedule | None:
        return next((b for b in self.batteries if b.battery_id == battery_id), None)

    def others_w(self, battery_id: str) -> tuple[Floats, Floats]:
        """The other batteries' planned (charging, discharging) per step."""
        others = [b for b in self.batteries if b.battery_id != battery_id]
        zeros = (0.0,) * (len(self.boundaries) - 1)
        if not others:
            return zeros, zeros
        return _sum(*(b.charge_w for b in others)), _sum(*(b.discharge_w for b in others))

    def steps_for(self, battery_id: str) -> list[PlanStep]:
        """The control module's steps for one battery (empty when the plan does not have it)."""
        mine = self.battery(battery_id)
        if mine is None:
            return []
        others_charge, others_discharge = self.others_w(battery_id)
        socs = mine.soc_starts
        return [
            PlanStep(
                start=self.boundaries[i],
                end=self.boundaries[i + 1],
                load_w=self.load_w[i] + others_charge[i],
                pv_w=self.pv_w[i] + others_discharge[i],
                charge_w=mine.charge_w[i],
                discharge_w=mine.discharge_w[i],
                soc_start=socs[i],
                soc_end=mine.soc_end[i],
                grid_import_w=self.grid_import_w[i],
                grid_export_w=self.grid_export_w[i],
                ev_w=self.ev_w[i],
            )
            for i in range(len(self.boundaries) - 1)
        ]

    # ------------------------------------------------------------------ archive
    def to_json(self) -> dict[str, Any]:
        def r(values: Floats, digits: int = 3) -> list[float]:
            return [round(v, digits) for v in values]

        return {
            "plan_id": self.plan_id,
            "boundaries": [b.isoformat() for b in self.boundaries],
            "load_w": r(self.load_w),
            "pv_w": r(self.pv_w),
            "ev_w": r(self.ev_w),
            "grid_import_w": r(self.grid_import_w),
            "grid_export_w": r(self.grid_export_w),
            "batteries": [
                {
                    "battery_id": b.battery_id,
                    "charge_w": r(b.charge_w),
                    "discharge_w": r(b.discharge_w),
                    "soc_start": round(b.soc_start, 9),
                    "soc_end": r(b.soc_end, 9),
                }
                for b in self.batteries
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExecutionPlan:
        """Read :meth:`to_json`'s output; raise ``ValueError`` (or ``KeyError``/``TypeError``) on
        anything else."""

        def f(values: Sequence[Any]) -> Floats:
            return tuple(float(v) for v in values)

        boundaries = tuple(datetime.fromisoformat(str(b)) for b in data["boundaries"])
        if any(b.tzinfo is None for b in boundaries):
            raise ValueError("execution plan boundaries must carry a time zone")
        return cls(
            plan_id=str(data["plan_id"]),
            boundaries=boundaries,
            load_w=f(data["load_w"]),
            pv_w=f(data["pv_w"]),
            ev_w=f(data["ev_w"]),
            grid_import_w=f(data["grid_import_w"]),
            grid_export_w=f(data["grid_export_w"]),
            batteries=tuple(
                BatterySchedule(
                    battery_id=str(b["battery_id"]),
                    charge_w=f(b["charge_w"]),
                    discharge_w=f(b["discharge_w"]),
                    soc_start=float(b["soc_start"]),
                    soc_end=f(b["soc_end"]),
                )
                for b in data["batteries"]
            ),
        )
