"""Electricity tariffs: the price of a kWh bought from and sold to the grid at a given instant.

* :class:`FixedTariff` — one buy price, one feed-in price.
* :class:`TimeOfUseTariff` — prices by local time of day (and weekday), e.g. off-peak 22:00-06:00;
  periods may wrap midnight; an instant no period covers uses ``default_buy``.
* :class:`PriceSeriesTariff` — a price per interval (day-ahead market prices), plus optional fixed
  adders (grid fees, taxes); an instant without a price is an error naming it, never a silent zero.

Prices are per kWh in ``currency``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from shems_optimizer.app.records.models import require_aware


class TariffError(ValueError):
    """A tariff is inconsistent or has no price for an instant."""


class Tariff(Protocol):
    currency: str

    def buy_price(self, at: datetime) -> float: ...

    def sell_price(self, at: datetime) -> float: ...


@dataclass(frozen=True)
class FixedTariff:
    buy: float
    sell: float = 0.0
    currency: str = "EUR"

    def buy_price(self, at: datetime) -> float:
        return self.buy

    def sell_price(self, at: datetime) -> float:
        return self.sell


@dataclass(frozen=True)
class TimeOfUsePeriod:
    """[start, end) in local time; ``end`` <= ``start`` wraps past midnight. Weekdays: 0 = Monday."""

    start: time
    end: time
    buy: float
    weekdays: frozenset[int] = frozenset(range(7))

    def covers(self, local: datetime) -> bool:
        if local.weekday() not in self.weekdays:
            return False
        t = local.time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True)
class TimeOfUseTariff:
    periods: tuple[TimeOfUsePeriod, ...]
    default_buy: float
    sell: float = 0.0
    timezone: str = "UTC"
    currency: str = "EUR"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        except (KeyError, ValueError) as err:
            raise TariffError(f"time-of-use tariff: unknown time zone {self.timezone!r}") from err
        for period in self.periods:
            if period.start == period.end:
                raise TariffError(f"time-of-use period starting {period.start} has zero length")

    def buy_price(self, at: datetime) -> float:
        local = require_aware(at, "tariff time").astimezone(self._zone)
        for period in self.periods:
            if period.covers(local):
                return period.buy
        return self.default_buy

    def sell_price(self, at: datetime) -> float:
        return self.sell


@dataclass(frozen=True)
class PriceSeriesTariff:
    """Prices from a series of (interval start, price per kWh), each valid for ``interval``."""

    buy_prices: tuple[tuple[datetime, float], ...]
    interval: timedelta = timedelta(hours=1)
    buy_adder: float = 0.0
    sell_prices: tuple[tuple[datetime, float], ...] = ()
    sell_fixed: float = 0.0
    currency: str = "EUR"

    @classmethod
    def from_mapping(cls, prices: Mapping[datetime, float], **options: object) -> PriceSeriesTariff:
        return cls(tuple(sorted(prices.items())), **options)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        for series in (self.buy_prices, self.sell_prices):
            for at, _ in series:
                require_aware(at, "price time")
            starts = [at for at, _ in series]
            if starts != sorted(starts):
                raise TariffError("price series must be sorted by time")

    def _lookup(self, series: Sequence[tuple[datetime, float]], at: datetime, what: str) -> float:
        require_aware(at, "tariff time")
        index = bisect.bisect_right([t for t, _ in series], at) - 1
        if index < 0 or at >= series[index][0] + self.interval:
            raise TariffError(f"no {what} price for {at.astimezone(UTC).isoformat()}")
        return series[index][1]

    def buy_price(self, at: datetime) -> float:
        return self._lookup(self.buy_prices, at, "buy") + self.buy_adder

    def sell_price(self, at: datetime) -> float:
        if not self.sell_prices:
            return self.sell_fixed
        return self._lookup(self.sell_prices, at, "sell")
