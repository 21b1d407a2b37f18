"""Shared inputs: the bundled three-week slice of the real household (see tests/data/backtest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shems_optimizer.core.forecast import Location, SeriesContext, read_series_csv

DATA = Path(__file__).resolve().parents[2] / "data" / "backtest"
SERIES = DATA / "household_2024-05-13_2024-06-02_30min.csv"
PRICES = DATA / "de_lu_day_ahead_2024-04-01_2024-06-04.csv"
HOME = Location(48.83, 6.86)
TZ = "Europe/Paris"


@pytest.fixture(scope="session")
def household() -> pd.DataFrame:
    frame, _ = read_series_csv(SERIES, HOME)
    return frame


@pytest.fixture(scope="session")
def household_ctx(household: pd.DataFrame) -> SeriesContext:
    return SeriesContext.build(household, TZ, "FR", HOME, extra_steps=96)
