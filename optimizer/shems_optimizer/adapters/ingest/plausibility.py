"""Readings that cannot be true: times far from now, absurd power, meters counting backwards.

A reading from 2100 stored as a device's newest would make every later reading look "out of order"
and freeze its live state; a 5 GW spike would wreck the load forecast. :class:`ReadingGuard` refuses
them before they reach the store or move a device's clock:

* time more than ``max_future`` ahead of the receive time (clock skew allowance, 5 minutes);
* time before 2000-01-01 or older than ``max_age`` (the store's raw retention, 730 days);
* ``|power_w|`` above the device's rating (``max_power_w`` / ``max_power_kw`` device attribute, plus
  10 %) or, without a rating, above 1 MW;
* an energy counter lower than the device's previous one. A real counter reset (meter replaced,
  firmware reset) is accepted once ``reset_confirmations`` consecutive readings agree on the new,
  lower, non-decreasing level — the refused ones before it are counted, not stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shems_optimizer.adapters.ingest.refusals import Reason
from shems_optimizer.app.records.models import Reading

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
RATING_MARGIN = 1.1


@dataclass(frozen=True)
class PlausibilityRules:
    max_future: timedelta = timedelta(minutes=5)
    max_age: timedelta | None = timedelta(days=730)
    earliest: datetime = EARLIEST
    max_power_w: float = 1_000_000.0
    reset_confirmations: int = 3


def rating_w(attributes: Mapping[str, Any]) -> float | None:
    """The device's rated power from its attributes, if it has a usable one."""
    for key, scale in (("max_power_w", 1.0), ("max_power_kw", 1000.0)):
        value = attributes.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e9:
            return float(value) * scale
    return None


class ReadingGuard:
    """Not thread-safe: used by the pipeline's single writer thread."""

    def __init__(self, rules: PlausibilityRules | None = None) -> None:
        self.rules = rules or PlausibilityRules()
        self._ratings: dict[str, float] = {}
        self._energy: dict[str, float] = {}
        self._lower: dict[str, list[float]] = {}  # device -> consecutive refused lower counter values

    def set_ratings(self, ratings: Mapping[str, float]) -> None:
        self._ratings = dict(ratings)

    def refuse_time_or_power(self, reading: Reading, now: datetime) -> tuple[str, str] | None:
        """(reason, detail) when the reading's time or power cannot be true, else ``None``."""
        rules = self.rules
        at = reading.time
        if at > now + rules.max_future:
            return Reason.TIME_IN_FUTURE, f"time {at.isoformat()} is more than {rules.max_future} ahead"
        oldest = rules.earliest if rules.max_age is None else max(rules.earliest, now - rules.max_age)
        if at < oldest:
            return Reason.TIME_TOO_OLD, f"time {at.isoformat()} is before {oldest.isoformat()}"
        power = reading.power_w
        if power is not None:
            rating = self._ratings.get(reading.device_id)
            limit = rating * RATING_MARGIN if rating is not None else rules.max_power_w
            if abs(power) > limit:
                return Reason.POWER_IMPLAUSIBLE, f"power {power:.6g} W is beyond {limit:.6g} W"
        return None

    def refuse_energy(self, reading: Reading) -> tuple[str, str] | None:
        """For a reading newer than the device's newest: refuse a counter that went down."""
        energy = reading.energy_kwh
        if energy is None:
            return None
        device = reading.device_id
        previous = self._energy.get(device)
        if previous is None or energy >= previous:
            self._energy[device] = energy
            self._lower.pop(device, None)
            return None
        lower = self._lower.setdefault(device, [])
        if lower and energy < lower[-1]:
            lower.clear()  # not a steady new level: start counting again
        lower.append(energy)
        if len(lower) > self.rules.reset_confirmations:
            self._energy[device] = energy  # a counter reset, confirmed by the readings before it
            self._lower.pop(device, None)
            return None
        return Reason.ENERGY_DECREASED, f"energy counter {energy:.6g} kWh is below {previous:.6g} kWh"
