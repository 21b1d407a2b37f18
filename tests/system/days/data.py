"""The home's weather and market, from the bundled real data (tests/data/backtest).

House load and PV production: one French household's 30-min means (May 2024); prices: the DE-LU
day-ahead auction of the same days, as a Nord Pool sensor shows them with the retail mark-up
(grid fees and taxes) the user configured in that integration.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "backtest"
HOUSEHOLD = DATA / "household_2024-05-13_2024-06-02_30min.csv"
PRICES = DATA / "de_lu_day_ahead_2024-04-01_2024-06-04.csv"
RETAIL_ADDER_EUR_PER_KWH = 0.20  # what the Nord Pool sensor adds to the spot price (fees, taxes)
FEED_IN_EUR_PER_KWH = 0.08  # the fixed German feed-in tariff


@dataclass(frozen=True)
class Weather:
    """Half-hourly house load (without the planned appliances) and PV production, in W."""

    load_w: dict[datetime, float]
    pv_w: dict[datetime, float]

    def at(self, moment: datetime) -> tuple[float, float]:
        slot = moment.replace(minute=0 if moment.minute < 30 else 30, second=0, microsecond=0)
        return self.load_w[slot], self.pv_w[slot]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(" ", "T"))


def load_weather(start: datetime, end: datetime) -> Weather:
    load, pv = {}, {}
    with HOUSEHOLD.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            moment = _utc(row["timestamp_utc"])
            if start - timedelta(hours=1) <= moment < end + timedelta(hours=1):
                load[moment] = float(row["load_no_var_loads_W"])
                pv[moment] = float(row["pv_W"] or 0.0)
    return Weather(load, pv)


def load_prices(start: datetime, end: datetime) -> dict[datetime, float]:
    """Hourly retail import price in EUR/kWh by UTC hour start."""
    prices = {}
    with PRICES.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            moment = _utc(row["timestamp_utc"])
            if start - timedelta(days=1) <= moment < end + timedelta(days=2):
                prices[moment] = round(float(row["price_eur_per_mwh"]) / 1000 + RETAIL_ADDER_EUR_PER_KWH, 5)
    return prices
