"""The one electricity tariff: the price of a kWh bought from and sold to the grid at any instant.

A :class:`Tariff` has a buy side and a sell side, each one of three price rules:

* :class:`Fixed` — one price at every instant;
* :class:`TimeOfUse` — prices by local time of day, with periods for weekdays, weekends and public
  holidays (the ``holidays`` package, for the tariff's country) and optional seasons (date ranges);
* :class:`Market` — ``(multiplier x market price + fees) x (1 + VAT)``, the market price being a
  forecast or measured series passed in, or the rule's own :class:`PriceSeries`.

Why one model: the planner, the bill, the analytics and the backtest all price energy, and three
separate classes had drifted apart (a period ending "at the next start" in one, a default price in
another, weekdays only in a third). A time-of-use rule is checked once, when it is built: every
minute of every kind of day (and every day of the year, with seasons) is covered by exactly one
period, else a :class:`ConfigError` names the period and the gap or overlap.

A period without ``end`` lasts until the next period's start on the same kind of day (wrapping past
midnight), the shape older site files use. A period applies to weekdays and weekends unless its
``days`` say otherwise; a public holiday is priced by the periods marked ``holiday``, and by the
weekend's when there are none. Prices are per kWh in ``currency``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from shems_optimizer.core.model.calendar import holiday_flags
from shems_optimizer.core.model.errors import ConfigError

DAY_KINDS = ("weekday", "weekend", "holiday")
EVERY_DAY = frozenset(DAY_KINDS)
DAILY = frozenset({"weekday", "weekend"})  # holidays then take the weekend's prices
_MINUTES = 24 * 60
# Day-of-year positions over a leap year, so 29 February has a place in every season table.
_LEAP_DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
_DAY_OF_YEAR = {(d.month, d.day): i for i, d in enumerate(_LEAP_DAYS)}


class TariffError(ConfigError):
    """A tariff that is inconsistent, or has no price for an instant."""


def _minute(value: time) -> int:
    return value.hour * 60 + value.minute


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class Period:
    """``price`` from ``start`` (local wall-clock time) to ``end`` (or the next start), on ``days``."""

    start: time
    price: float
    end: time | None = None
    days: frozenset[str] = DAILY


@dataclass(frozen=True)
class Season:
    """Periods in force from ``start`` to ``end`` (month, day), both included; may wrap the new year."""

    start: tuple[int, int]
    end: tuple[int, int]
    periods: tuple[Period, ...]
    name: str = ""


def _day_table(periods: Sequence[Period], kind: str, where: str) -> np.ndarray:
    """Period index per minute of one kind of day; every minute exactly once."""
    mine = [(i, p) for i, p in enumerate(periods) if kind in p.days]
    owner = np.full(_MINUTES, -1, dtype=np.int64)
    starts = sorted(_minute(p.start) for _, p in mine)
    for i, period in mine:
        start = _minute(period.start)
        if period.end is not None:
            end = _minute(period.end)
            if end == start:
                raise TariffError(
                    f"{where}[{i}].end", "equals the start: the period has no length (leave end out)"
                )
        else:
            later = [s for s in starts if s > start]
            end = later[0] if later else (starts[0] if starts[0] < start else start)
        span = np.arange(start, end if end > start else end + _MINUTES) % _MINUTES
        taken = owner[span] >= 0
        if taken.any():
            other = int(owner[span][taken][0])
            at = _clock(int(span[taken][0]))
            raise TariffError(
                f"{where}[{i}]", f"overlaps {where}[{other}] from {at} on {kind}s (periods must not overlap)"
            )
        owner[span] = i
    if (owner < 0).any():
        gap = np.flatnonzero(owner < 0)
        last = gap[0]
        while last + 1 < _MINUTES and owner[last + 1] < 0:
            last += 1
        raise TariffError(
            where,
            f"no period covers {_clock(int(gap[0]))}-{_clock(int(last + 1))} on {kind}s "
            "(the periods of each kind of day must cover all 24 hours)",
        )
    return owner


@dataclass(frozen=True)
class TimeOfUse:
    """Prices by local time of day and kind of day; ``seasons`` instead of ``periods`` for date ranges."""

    periods: tuple[Period, ...] = ()
    seasons: tuple[Season, ...] = ()
    _tables: tuple[tuple[np.ndarray, np.ndarray], ...] = field(init=False, repr=False, compare=False)
    _season_of_day: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if bool(self.periods) == bool(self.seasons):
            raise TariffError("periods", "give either periods or seasons (each with its periods)")
        seasons = self.seasons or (Season((1, 1), (12, 31), self.periods),)
        tables = []
        for s, season in enumerate(seasons):
            where = f"seasons[{s}].periods" if self.seasons else "periods"
            if not season.periods:
                raise TariffError(where, "a season needs at least one period")
            for i, period in enumerate(season.periods):
                unknown = sorted(set(period.days) - EVERY_DAY)
                if unknown or not period.days:
                    raise TariffError(f"{where}[{i}].days", f"expected some of {', '.join(DAY_KINDS)}")
                if not np.isfinite(period.price):
                    raise TariffError(f"{where}[{i}].price", "expected a finite number")
            kinds = [
                k for k in DAY_KINDS if k != "holiday" or any("holiday" in p.days for p in season.periods)
            ]
            owners = {k: _day_table(season.periods, k, where) for k in kinds}
            owners.setdefault("holiday", owners["weekend"])
            prices = np.array([p.price for p in season.periods])
            tables.append((np.stack([owners[k] for k in DAY_KINDS]), prices))
        object.__setattr__(self, "_tables", tuple(tables))
        object.__setattr__(self, "_season_of_day", _season_table(seasons, bool(self.seasons)))

    def values(self, local: pd.DatetimeIndex, holiday: np.ndarray) -> np.ndarray:
        minutes = (local.hour * 60 + local.minute).to_numpy()
        kind = np.where(holiday > 0, 2, np.where(local.day_of_week.to_numpy() >= 5, 1, 0))
        # Day of a leap year: after February an ordinary year's days move up by one.
        late = (~np.asarray(local.is_leap_year)) & (local.month.to_numpy() > 2)
        season = self._season_of_day[local.day_of_year.to_numpy() - 1 + late]
        out = np.empty(len(local))
        for s, (owners, prices) in enumerate(self._tables):
            hit = season == s
            out[hit] = prices[owners[kind[hit], minutes[hit]]]
        return out


def _season_table(seasons: Sequence[Season], named: bool) -> np.ndarray:
    owner = np.full(366, -1, dtype=np.int64)
    for s, season in enumerate(seasons):
        ends = []
        for key, value in (("start", season.start), ("end", season.end)):
            if value not in _DAY_OF_YEAR:
                raise TariffError(f"seasons[{s}].{key}", f"{value!r} is not a (month, day) of the year")
            ends.append(_DAY_OF_YEAR[value])
        first, last = ends
        span = np.arange(first, (last if last >= first else last + 366) + 1) % 366
        if (owner[span] >= 0).any():
            other = int(owner[span][owner[span] >= 0][0])
            raise TariffError(f"seasons[{s}].start", f"overlaps seasons[{other}] (seasons must not overlap)")
        owner[span] = s
    if (owner < 0).any():
        missing = _LEAP_DAYS[int(np.flatnonzero(owner < 0)[0])]
        raise TariffError("seasons", f"no season covers {missing:%m-%d} (seasons must cover the whole year)")
    return owner


@dataclass(frozen=True)
class Fixed:
    price: float

    def values(self, local: pd.DatetimeIndex, holiday: np.ndarray) -> np.ndarray:
        return np.full(len(local), float(self.price))


@dataclass(frozen=True)
class PriceSeries:
    """Market prices per kWh: (interval start, price) pairs, each valid for ``interval``."""

    points: tuple[tuple[datetime, float], ...]
    interval: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        starts = [at for at, _ in self.points]
        if any(at.tzinfo is None for at in starts):
            raise TariffError("prices", "every price time needs a time zone")
        if starts != sorted(starts):
            raise TariffError("prices", "price series must be sorted by time")

    def at(self, index: pd.DatetimeIndex) -> np.ndarray:
        starts = [t for t, _ in self.points]
        out = np.empty(len(index))
        for k, moment in enumerate(index.to_pydatetime()):
            i = bisect.bisect_right(starts, moment) - 1
            if i < 0 or moment >= starts[i] + self.interval:
                raise TariffError("prices", f"no market price for {moment.astimezone(UTC).isoformat()}")
            out[k] = self.points[i][1]
        return out


@dataclass(frozen=True)
class Market:
    """``(multiplier x market price + fees) x (1 + vat)``; ``vat`` is a fraction (0.19 for 19 %)."""

    fees: float = 0.0
    multiplier: float = 1.0
    vat: float = 0.0
    series: PriceSeries | None = None

    def of(self, market: np.ndarray) -> np.ndarray:
        return np.asarray((self.multiplier * np.asarray(market, dtype=float) + self.fees) * (1.0 + self.vat))


PriceRule = Fixed | TimeOfUse | Market


@dataclass(frozen=True)
class Tariff:
    """What a kWh costs to buy and earns when sold, at any instant, in ``currency``."""

    buy: PriceRule
    sell: PriceRule = Fixed(0.0)
    timezone: str = "UTC"
    country: str | None = None
    currency: str = "EUR"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        except (KeyError, ValueError) as err:
            raise TariffError("timezone", f"unknown time zone {self.timezone!r}") from err

    @property
    def needs_spot(self) -> bool:
        """Whether prices need a market price series passed in (a market rule without its own)."""
        return any(isinstance(r, Market) and r.series is None for r in (self.buy, self.sell))

    def buy_prices(self, index: pd.DatetimeIndex, spot: np.ndarray | None = None) -> np.ndarray:
        return self._prices(self.buy, index, spot, "buy")

    def sell_prices(self, index: pd.DatetimeIndex, spot: np.ndarray | None = None) -> np.ndarray:
        return self._prices(self.sell, index, spot, "sell")

    def buy_price(self, at: datetime) -> float:
        return float(self.buy_prices(_instant(at))[0])

    def sell_price(self, at: datetime) -> float:
        return float(self.sell_prices(_instant(at))[0])

    def _prices(
        self, rule: PriceRule, index: pd.DatetimeIndex, spot: np.ndarray | None, side: str
    ) -> np.ndarray:
        if isinstance(rule, Market):
            if rule.series is not None:
                return rule.of(rule.series.at(index))
            if spot is None:
                raise TariffError(side, "a market-price tariff needs market prices for every step")
            if len(spot) != len(index):
                raise TariffError(side, f"market prices have {len(spot)} values for {len(index)} steps")
            return rule.of(spot)
        local = index.tz_convert(self._zone)
        uses_holidays = isinstance(rule, TimeOfUse) and self.country is not None
        holiday = holiday_flags(local, self.country) if uses_holidays else np.zeros(len(index))
        return rule.values(local, holiday)


def _instant(at: datetime) -> pd.DatetimeIndex:
    if at.tzinfo is None:
        raise TariffError("time", f"{at.isoformat()} has no time zone")
    return pd.DatetimeIndex([pd.Timestamp(at).tz_convert("UTC")])


def _time(where: str, value: object) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise TariffError(where, f"{value!r} is not a time of day HH:MM") from None


def _month_day(where: str, value: object) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in str(value).split("-"))
    except ValueError:
        raise TariffError(where, f"{value!r} is not a date MM-DD") from None
    if (month, day) not in _DAY_OF_YEAR:
        raise TariffError(where, f"{value!r} is not a date MM-DD")
    return month, day


def _days(where: str, value: Any) -> frozenset[str]:
    if value is None:
        return DAILY
    kinds: frozenset[str] = frozenset([value] if isinstance(value, str) else value)
    if not kinds or not kinds <= EVERY_DAY:
        raise TariffError(where, f"expected some of {', '.join(DAY_KINDS)}, got {value!r}")
    return kinds


def _periods(
    raw: Sequence[Mapping[str, Any]], key: str, fallback: float | None, where: str
) -> tuple[Period, ...]:
    out = []
    for i, p in enumerate(raw):
        price = p.get(key, fallback)
        if price is None:
            raise TariffError(f"{where}[{i}].{key}", "is required")
        end = p.get("end")
        out.append(
            Period(
                start=_time(f"{where}[{i}].start", p["start"]),
                price=float(price),
                end=None if end is None else _time(f"{where}[{i}].end", end),
                days=_days(f"{where}[{i}].days", p.get("days")),
            )
        )
    return tuple(out)


def time_of_use_from(
    raw: Mapping[str, Any], key: str, fallback: float | None = None, where: str = "tariff"
) -> TimeOfUse:
    """A time-of-use rule from plain data: ``periods`` (or ``seasons`` of ``{start: MM-DD, end: MM-DD,
    periods}``), each period ``{start, [end], [days], <key>: price}``; ``fallback`` for a missing price.
    Errors name the field under ``where``."""
    try:
        if raw.get("seasons"):
            seasons = tuple(
                Season(
                    start=_month_day(f"seasons[{s}].start", season["start"]),
                    end=_month_day(f"seasons[{s}].end", season["end"]),
                    periods=_periods(season.get("periods") or (), key, fallback, f"seasons[{s}].periods"),
                    name=str(season.get("name", "")),
                )
                for s, season in enumerate(raw["seasons"])
            )
            return TimeOfUse(seasons=seasons)
        return TimeOfUse(periods=_periods(raw.get("periods") or (), key, fallback, "periods"))
    except TariffError as err:
        raise TariffError(f"{where}.{err.field}", err.problem) from None
