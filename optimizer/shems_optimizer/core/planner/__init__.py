"""The planner: a never-infeasible MILP over batteries, EVs, appliances and thermal loads.

Public API::

    from shems_optimizer.core.planner import optimize, Options
    plan = optimize(site, series, Options())

See :mod:`shems_optimizer.core.plan` for what comes back.
"""

from shems_optimizer.core.planner.options import Options, Penalties, SolverUnavailable
from shems_optimizer.core.planner.run import PlanningError, optimize

__all__ = ["Options", "Penalties", "PlanningError", "SolverUnavailable", "optimize"]
