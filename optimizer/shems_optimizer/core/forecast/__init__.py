"""Forecasts of load, PV and prices (HA-free): what the planner needs, and how good it is.

- :mod:`.series` reads and repairs measured series (gaps, duplicates, DST, kW vs W);
- :mod:`.context` lays a series out on a regular grid once, for fast repeated forecasts;
- :mod:`.load`, :mod:`.pv`, :mod:`.price` are the forecasters (P10/P50/P90, with fallbacks);
- :mod:`.tariffs` turns spot prices into buy/sell prices; :mod:`.horizons` aggregates forecasts into
  the 48 h / 7 day / 30 day views.
"""

from shems_optimizer.core.forecast.context import SeriesContext
from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.forecast.load import LoadForecaster, LoadForecasterConfig
from shems_optimizer.core.forecast.price import (
    DayAheadPublication,
    PriceForecasterConfig,
    SpotPriceForecaster,
)
from shems_optimizer.core.forecast.pv import PVForecaster, PVForecasterConfig
from shems_optimizer.core.forecast.result import QuantileForecast
from shems_optimizer.core.forecast.series import (
    SeriesReport,
    align_prices,
    prepare_series,
    read_price_csv,
    read_series_csv,
)
from shems_optimizer.core.forecast.solar import Location

__all__ = [
    "DayAheadPublication",
    "LoadForecaster",
    "LoadForecasterConfig",
    "Location",
    "PVForecaster",
    "PVForecasterConfig",
    "PriceForecasterConfig",
    "QuantileForecast",
    "SeriesContext",
    "SeriesError",
    "SeriesReport",
    "SpotPriceForecaster",
    "align_prices",
    "prepare_series",
    "read_price_csv",
    "read_series_csv",
]
