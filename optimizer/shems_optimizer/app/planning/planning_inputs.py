"""What one planning run reads: forecasts and prices per step, with the notes that say where they came from.

Made by an inputs provider (:mod:`shems_optimizer.adapters.homeassistant.live_inputs`, or the
fallbacks of :class:`~shems_optimizer.app.planning.engine_planner.BasicInputs`); read by the 48-hour
plan (:mod:`~shems_optimizer.app.planning.engine_planner`) and the 7-day outlook
(:mod:`~shems_optimizer.app.planning.outlook`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PlanningInputs:
    load_kw: Sequence[float]
    pv_kw: Sequence[float]
    buy_eur_per_kwh: Sequence[float] | None  # None: the site's time-of-use tariff applies
    sell_eur_per_kwh: Sequence[float] | None
    notes: tuple[str, ...] = ()
    prices_updated_at: datetime | None = None
    # Steps (from the first) whose prices are published; later ones are filled by the provider's rule
    # (e.g. the price of the same time a day earlier). None: every price comes from a tariff.
    published_price_steps: int | None = None
