"""Public holidays by country (the ``holidays`` package), for tariffs and forecasts.

A country is an ISO 3166-1 alpha-2 code written as a string. YAML 1.1 reads an unquoted ``NO``
(Norway) as the boolean false; :func:`country_code` refuses booleans and other non-strings with a
message naming the field, so such a file never silently loses its holiday calendar.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import holidays
import numpy as np
import pandas as pd

from shems_optimizer.core.model.errors import ConfigError


def country_code(field: str, value: Any) -> str | None:
    """The validated country code (upper case), or None when none is given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ConfigError(
            field,
            f"read as the boolean {str(value).lower()}, not a country code: write the code in quotes "
            '(e.g. country: "NO" for Norway)',
        )
    if not isinstance(value, str) or len(value.strip()) != 2:
        raise ConfigError(field, f"expected a two-letter country code such as FR or NO, got {value!r}")
    code = value.strip().upper()
    if code not in holidays.list_supported_countries():
        raise ConfigError(field, f"{code!r}: no public-holiday calendar for this country code")
    return code


def holiday_flags(local: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    """1.0 on the country's public holidays (local dates), else 0.0; all zeros without a country."""
    if not country:
        return np.zeros(len(local))
    years = tuple(sorted({int(y) for y in local.year}))
    days = _holiday_dates(country, years)
    dates = local.date
    return np.fromiter((1.0 if d in days else 0.0 for d in dates), dtype=float, count=len(local))


@lru_cache(maxsize=32)
def _holiday_dates(country: str, years: tuple[int, ...]) -> frozenset[date]:
    try:
        calendar = holidays.country_holidays(country, years=list(years))
    except NotImplementedError as err:
        raise ValueError(f"country {country!r}: no public-holiday calendar for this code") from err
    return frozenset(calendar.keys())
