"""Analytics over the store: consumption at any granularity, energy flows of a home, cost with a tariff,
daily / weekly / monthly reports (energy, cost, peak, self-sufficiency). Tariffs are the one model of
:mod:`shems_optimizer.core.model.tariff`.

* :mod:`~shems_optimizer.app.reporting.consumption` — per-device consumption (raw readings or buckets) and
  a home's energy flows (grid import/export, PV, battery, consumption).
* :mod:`~shems_optimizer.app.reporting.cost` — cost per bucket, priced hour by hour.
* :mod:`~shems_optimizer.app.reporting.reports` — period reports.

All functions take a :class:`~shems_optimizer.app.records.repository.Repository`, so they work on both
back-ends.
"""

from shems_optimizer.app.reporting.consumption import EnergyFlows, consumption_points, energy_flows
from shems_optimizer.app.reporting.cost import CostBucket, cost
from shems_optimizer.app.reporting.reports import Report, report

__all__ = [
    "CostBucket",
    "EnergyFlows",
    "Report",
    "consumption_points",
    "cost",
    "energy_flows",
    "report",
]
