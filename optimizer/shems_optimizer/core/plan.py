"""What a planning run returns: per-step trajectories per asset, costs, savings and unmet goals.

Every trajectory is a tuple with one value per step of ``Plan.grid`` (timezone-aware step starts in
``Plan.starts``). Powers are mean kW over the step; SOC and temperatures are values at the *end* of
the step (``soc_start``/``initial_temp_c`` give the value before the first step). The structure is
plain data so it serialises to JSON (:meth:`Plan.to_dict`) and to a table (:meth:`Plan.to_frame`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from shems_optimizer.core.timegrid import TimeGrid

if TYPE_CHECKING:
    import pandas as pd

Floats = tuple[float, ...]


@dataclass(frozen=True)
class GridPlan:
    import_kw: Floats
    export_kw: Floats
    pv_used_kw: Floats
    pv_curtailed_kw: Floats
    unserved_load_kw: Floats
    load_kw: Floats  # the base (non-controllable) load forecast
    pv_forecast_kw: Floats
    buy_eur_per_kwh: Floats
    sell_eur_per_kwh: Floats


@dataclass(frozen=True)
class BatteryPlan:
    name: str
    charge_kw: Floats
    discharge_kw: Floats
    soc: Floats  # fraction at the end of each step
    soc_start: float

    @property
    def net_kw(self) -> Floats:
        """Discharge minus charge (positive: the battery supplies the house)."""
        return tuple(d - c for c, d in zip(self.charge_kw, self.discharge_kw, strict=True))


@dataclass(frozen=True)
class EVPlan:
    name: str
    charge_kw: Floats
    soc: Floats
    soc_start: float
    plugged_in: tuple[bool, ...]


@dataclass(frozen=True)
class Run:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class AppliancePlan:
    name: str
    kind: str  # "profile" (runs once) or "energy" (may pause)
    power_kw: Floats
    runs: tuple[Run, ...]  # when it is on (one run for a profile appliance)
    energy_kwh: float

    @property
    def start(self) -> datetime | None:
        return self.runs[0].start if self.runs else None


@dataclass(frozen=True)
class ThermalPlan:
    name: str
    power_kw: Floats
    temperature_c: Floats
    initial_temp_c: float


@dataclass(frozen=True)
class CostBreakdown:
    """EUR over the horizon. ``total`` = energy + wear + peak charge (what the home pays)."""

    import_eur: float
    export_eur: float  # revenue (negative when exporting at negative prices)
    wear_eur: float
    peak_demand_eur: float
    penalty_eur: float  # unmet goals and last-resort terms (not money; zero when every goal is met)
    stability_eur: float
    # Energy left in the batteries at the end, valued at their terminal_value_eur_per_kwh (0 if none).
    stored_value_eur: float = 0.0

    @property
    def energy_eur(self) -> float:
        return self.import_eur - self.export_eur

    @property
    def total(self) -> float:
        return self.import_eur - self.export_eur + self.wear_eur + self.peak_demand_eur

    @property
    def net(self) -> float:
        """What the horizon costs once the energy left in the batteries is counted at its value."""
        return self.total - self.stored_value_eur


@dataclass(frozen=True)
class UnmetGoal:
    asset: str
    goal: str  # e.g. "ev_target_soc", "appliance_deadline", "terminal_soc", "comfort", "supply"
    wanted: float
    achieved: float
    unit: str
    explanation: str  # in words a homeowner understands


@dataclass(frozen=True)
class SolverReport:
    status: str  # "optimal" | "time_limit" | "feasible" | "failed"
    detail: str
    mip_gap: float | None
    objective: float | None
    build_s: float
    solve_s: float
    num_variables: int
    num_constraints: int
    num_integer: int
    rounds: int  # solves needed (either/or binaries are added only where a solution needs them)


@dataclass(frozen=True)
class Baseline:
    """The same home without optimisation: appliances at their earliest start, the battery in plain
    self-consumption, the EV at full power from arrival, heating by thermostat."""

    cost: CostBreakdown
    objective: float  # cost plus the same penalties the planner uses (for a like-for-like check)
    import_kw: Floats
    export_kw: Floats
    battery_soc: dict[str, Floats] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Plan:
    grid: TimeGrid
    site_name: str
    power: GridPlan
    batteries: tuple[BatteryPlan, ...]
    evs: tuple[EVPlan, ...]
    appliances: tuple[AppliancePlan, ...]
    thermal: tuple[ThermalPlan, ...]
    cost: CostBreakdown
    baseline: Baseline | None
    unmet_goals: tuple[UnmetGoal, ...]
    solver: SolverReport
    notes: tuple[str, ...] = ()  # repairs of the input and other things worth knowing

    @property
    def starts(self) -> tuple[datetime, ...]:
        return self.grid.starts

    @property
    def status(self) -> str:
        return self.solver.status

    @property
    def savings_eur(self) -> float | None:
        """Baseline minus plan, both net of the value of energy left in the batteries."""
        return None if self.baseline is None else self.baseline.cost.net - self.cost.net

    def battery(self, name: str) -> BatteryPlan:
        return _by_name(self.batteries, name)

    def ev(self, name: str) -> EVPlan:
        return _by_name(self.evs, name)

    def appliance(self, name: str) -> AppliancePlan:
        return _by_name(self.appliances, name)

    def thermal_load(self, name: str) -> ThermalPlan:
        return _by_name(self.thermal, name)

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (timestamps as ISO 8601 with offset)."""

        def runs(app: AppliancePlan) -> list[dict[str, str]]:
            return [{"start": r.start.isoformat(), "end": r.end.isoformat()} for r in app.runs]

        cost = {
            **asdict(self.cost),
            "energy_eur": self.cost.energy_eur,
            "total_eur": self.cost.total,
            "net_eur": self.cost.net,
        }
        baseline = None
        if self.baseline is not None:
            baseline = {
                "cost": {
                    **asdict(self.baseline.cost),
                    "total_eur": self.baseline.cost.total,
                    "net_eur": self.baseline.cost.net,
                },
                "objective": self.baseline.objective,
            }
        return {
            "site": self.site_name,
            "status": self.solver.status,
            "solver": asdict(self.solver),
            "timestamps": [t.isoformat() for t in self.grid.starts],
            "step_hours": [float(h) for h in self.grid.hours],
            "grid": asdict(self.power),
            "batteries": [asdict(b) for b in self.batteries],
            "evs": [asdict(e) for e in self.evs],
            "appliances": [{**asdict(a), "runs": runs(a)} for a in self.appliances],
            "thermal": [asdict(t) for t in self.thermal],
            "cost": cost,
            "baseline": baseline,
            "savings_eur": self.savings_eur,
            "unmet_goals": [asdict(g) for g in self.unmet_goals],
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per step, one column per trajectory (``asset.quantity``), indexed by step start."""
        import pandas as pd

        columns: dict[str, Floats] = {
            "grid.import_kw": self.power.import_kw,
            "grid.export_kw": self.power.export_kw,
            "pv.forecast_kw": self.power.pv_forecast_kw,
            "pv.used_kw": self.power.pv_used_kw,
            "load.base_kw": self.power.load_kw,
            "price.buy_eur_per_kwh": self.power.buy_eur_per_kwh,
            "price.sell_eur_per_kwh": self.power.sell_eur_per_kwh,
        }
        for b in self.batteries:
            columns[f"{b.name}.charge_kw"] = b.charge_kw
            columns[f"{b.name}.discharge_kw"] = b.discharge_kw
            columns[f"{b.name}.soc"] = b.soc
        for e in self.evs:
            columns[f"{e.name}.charge_kw"] = e.charge_kw
            columns[f"{e.name}.soc"] = e.soc
        for a in self.appliances:
            columns[f"{a.name}.power_kw"] = a.power_kw
        for t in self.thermal:
            columns[f"{t.name}.power_kw"] = t.power_kw
            columns[f"{t.name}.temperature_c"] = t.temperature_c
        index = pd.DatetimeIndex(list(self.grid.starts), name="start")
        return pd.DataFrame(columns, index=index)


_Named = TypeVar("_Named", BatteryPlan, EVPlan, AppliancePlan, ThermalPlan)


def _by_name(items: tuple[_Named, ...], name: str) -> _Named:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no asset named {name!r} in this plan")
