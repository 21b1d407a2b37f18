"""How to plan: objective, penalties for unmet goals, solver limits, stability against a previous plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from shems_optimizer.core.plan import Plan


@dataclass(frozen=True)
class Penalties:
    """Prices of not meeting a goal, in the objective's currency.

    Goals (EV target, appliance deadline, terminal battery SOC, water heater energy) are soft so a
    plan always exists; their penalty is far above any energy price so a goal that can be met is met.
    The planner raises ``goal_eur_per_kwh`` to at least 5× the highest absolute price of the horizon.
    Last-resort terms (load the grid cannot supply, PV that must be curtailed although marked
    non-curtailable) are priced higher still: they only appear when physics leaves no choice.
    """

    goal_eur_per_kwh: float = 10.0
    comfort_eur_per_kelvin_hour: float = 50.0
    last_resort_eur_per_kwh: float = 1000.0


@dataclass(frozen=True)
class Options:
    """Everything about *how* to plan (the *what* is in the site and the series)."""

    # "cost": minimise money; "self_consumption": minimise energy bought, whatever it costs.
    objective: Literal["cost", "self_consumption"] = "cost"
    mip_gap: float = 1e-4
    # Absolute MIP gap in the objective's currency; the solver stops when either gap is reached.
    # 0.01 cent: irrelevant for a household plan, yet it spares plans that cost next to nothing
    # (where 1e-4 of the cost is far below a cent) a search for nothing, and keeps a 4 EUR day
    # within 0.0025 % of its optimum.
    mip_abs_gap: float = 1e-4
    time_limit_s: float = 30.0
    threads: int = 1
    penalties: Penalties = field(default_factory=Penalties)
    # Stability: with a previous plan, every kW a battery or EV deviates from it costs this much per
    # hour of the overlap. Small values (0.005-0.02) stop plans flapping between near-equal optima.
    previous_plan: Plan | None = None
    stability_eur_per_kwh: float = 0.01
    # A deferrable run the previous plan placed moves only to save more than this per kWh it draws.
    appliance_move_eur_per_kwh: float = 0.03
    # Forbid charging and discharging a battery (importing and exporting) in the same step.
    exclusive_battery_modes: bool = True
    exclusive_grid_direction: bool = True
    # Simulate the no-optimisation baseline to report savings (cheap; off for tight loops).
    compute_baseline: bool = True
    # "highs": HiGHS through highspy (the default, fastest); "pulp:<name>": any solver PuLP drives,
    # e.g. "pulp:cbc" (bundled with PuLP), "pulp:glpk", "pulp:gurobi", "pulp:cplex", "pulp:highs",
    # or a name from ``pulp.listSolvers()``. Same model; see :mod:`shems_optimizer.core.planner.pulp_solve`.
    solver: str = "highs"

    def __post_init__(self) -> None:
        check_solver_name(self.solver)


HIGHS = "highs"
PULP_PREFIX = "pulp:"


class SolverUnavailable(ValueError):
    """The solver named in the options does not exist or cannot run here; the message says which
    ones can."""


def check_solver(name: str) -> None:
    """:class:`SolverUnavailable` unless ``name`` is a solver that runs on this machine."""
    check_solver_name(name)
    if name != HIGHS:
        from shems_optimizer.core.planner.pulp_solve import pulp_solver  # PuLP loads in 0.2 s: only here

        pulp_solver(name)


def check_solver_name(name: str) -> None:
    """Only the form: ``highs`` or ``pulp:<name>`` (whether it runs here is for
    :func:`shems_optimizer.core.planner.pulp_solve.pulp_solver` to say)."""
    if name != HIGHS and not (name.startswith(PULP_PREFIX) and len(name) > len(PULP_PREFIX)):
        raise SolverUnavailable(
            f"solver {name!r}: use 'highs' (the default) or 'pulp:<solver>', e.g. 'pulp:cbc'"
        )
