"""Reading and repairing measured household series (load, PV, provider PV forecast, temperature).

Why a dedicated reader: real exports have gaps, duplicated or unordered timestamps, DST changes and the
occasional column in kW. Every repair done here is recorded in :class:`SeriesReport` so a caller can show
it, and anything that cannot be repaired raises :class:`SeriesError` naming the column and the problem.
Values that stay missing are kept as NaN: forecasters and the backtest decide what a gap means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd

from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.forecast.solar import Location, is_night
from shems_optimizer.core.timestamps import LocalClock, TimestampError

# Accepted column names (first match wins) -> canonical name. Power is always W internally.
TIME_COLUMNS: tuple[str, ...] = ("timestamp", "timestamp_utc", "time", "datetime", "start")
# The planner's series names (load_kw, pv_kw, ... see docs/scenario-format.md) are accepted too.
POWER_COLUMNS: dict[str, tuple[str, ...]] = {
    "load_W": ("load_W", "load_w", "load_no_var_loads_W", "load_kW", "load_kw"),
    "pv_W": ("pv_W", "pv_w", "pv_kW", "pv_kw"),
    "pv_forecast_W": ("pv_forecast_W", "pv_forecast_w", "pv_forecast_kW", "pv_forecast_kw"),
}
TEMPERATURE_COLUMN = "temperature_C"
TEMPERATURE_ALIASES: tuple[str, ...] = ("temperature_C", "outdoor_temp_c")
SPOT_COLUMN = "spot_eur_per_kwh"
# A household series whose load never exceeds this many "W" is almost certainly in kW.
_KW_SUSPICION_MAX_W = 40.0


@dataclass(frozen=True)
class SeriesReport:
    """What the reader found and repaired, in words a user understands."""

    step: pd.Timedelta
    rows: int
    repairs: tuple[str, ...] = field(default_factory=tuple)
    missing: dict[str, int] = field(default_factory=dict)


def read_series_csv(path: str | Path, location: Location | None = None) -> tuple[pd.DataFrame, SeriesReport]:
    """Read a series CSV into a regular, UTC-indexed frame with canonical column names."""
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError as err:
        raise SeriesError(f"series file not found: {path}") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SeriesError(f"series file {path} is not a readable CSV: {err}") from err
    return prepare_series(raw, location=location)


def prepare_series(raw: pd.DataFrame, location: Location | None = None) -> tuple[pd.DataFrame, SeriesReport]:
    """Validate and regularise a raw frame (see module docstring for the repairs)."""
    repairs: list[str] = []
    time_col = next((c for c in TIME_COLUMNS if c in raw.columns), None)
    if time_col is None:
        raise SeriesError(f"no timestamp column: expected one of {', '.join(TIME_COLUMNS)}")
    index = _parse_times(raw[time_col], time_col)
    frame = pd.DataFrame(index=index)
    for canonical, aliases in POWER_COLUMNS.items():
        name = next((a for a in aliases if a in raw.columns), None)
        if name is None:
            continue
        values = pd.to_numeric(raw[name], errors="coerce").to_numpy(dtype=float)
        bad = int(raw[name].notna().sum() - np.isfinite(values).sum())
        if bad:
            repairs.append(f"{name}: {bad} non-numeric value(s) treated as missing")
        if name.lower().endswith("_kw"):
            values = values * 1000.0
            repairs.append(f"{name}: converted kW to W")
        frame[canonical] = values
    if "load_W" not in frame.columns:
        raise SeriesError("no load column: expected one of " + ", ".join(POWER_COLUMNS["load_W"]))
    if SPOT_COLUMN in raw.columns:
        frame[SPOT_COLUMN] = pd.to_numeric(raw[SPOT_COLUMN], errors="coerce").to_numpy()
    temperature = next((a for a in TEMPERATURE_ALIASES if a in raw.columns), None)
    if temperature is not None:
        frame[TEMPERATURE_COLUMN] = pd.to_numeric(raw[temperature], errors="coerce").to_numpy()
    _check_units(frame)

    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
        repairs.append("timestamps were not in order: sorted")
    duplicated = frame.index.duplicated(keep=False)
    if duplicated.any():
        count = int(frame.index.duplicated().sum())
        frame = frame.groupby(level=0).mean()
        repairs.append(f"{count} duplicated timestamp(s): values averaged")
    if len(frame) < 2:
        raise SeriesError("series has fewer than two rows: cannot infer its time step")

    step = _modal_step(pd.DatetimeIndex(frame.index))
    regular = pd.date_range(frame.index[0], frame.index[-1], freq=step, tz="UTC")
    off_grid = frame.index.difference(regular)
    if len(off_grid):
        frame = frame.resample(step, origin=regular[0]).mean()
        repairs.append(f"{len(off_grid)} timestamp(s) off the {_fmt(step)} grid: averaged into their step")
    frame = frame.reindex(regular)
    frame.index.name = "timestamp"

    for column in ("pv_W", "pv_forecast_W"):
        if column in frame.columns:
            negative = frame[column] < 0
            if negative.any():
                frame.loc[negative, column] = 0.0
                repairs.append(f"{column}: {int(negative.sum())} negative value(s) set to 0")
            if location is not None:
                night = is_night(pd.DatetimeIndex(frame.index), step, location)
                filled = frame[column].isna() & night
                if filled.any():
                    frame.loc[filled, column] = 0.0
                    repairs.append(f"{column}: {int(filled.sum())} missing night-time value(s) set to 0")
    if (frame["load_W"] < 0).any():
        raise SeriesError("load_W has negative values: load must be consumption (W >= 0)")
    missing = {c: int(frame[c].isna().sum()) for c in frame.columns if frame[c].isna().any()}
    for column, count in missing.items():
        repairs.append(f"{column}: {count} step(s) missing (kept as gaps)")
    return frame, SeriesReport(step=step, rows=len(frame), repairs=tuple(repairs), missing=missing)


def read_price_csv(path: str | Path) -> pd.Series:
    """Read day-ahead spot prices (``price_eur_per_mwh`` or ``price_eur_per_kwh``) as EUR/kWh, UTC index."""
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError as err:
        raise SeriesError(f"price file not found: {path}") from err
    time_col = next((c for c in TIME_COLUMNS if c in raw.columns), None)
    if time_col is None:
        raise SeriesError(f"price file {path}: no timestamp column ({', '.join(TIME_COLUMNS)})")
    index = _parse_times(raw[time_col], time_col)
    if "price_eur_per_mwh" in raw.columns:
        values = pd.to_numeric(raw["price_eur_per_mwh"], errors="coerce").to_numpy() / 1000.0
    elif "price_eur_per_kwh" in raw.columns:
        values = pd.to_numeric(raw["price_eur_per_kwh"], errors="coerce").to_numpy()
    else:
        raise SeriesError(f"price file {path}: expected a price_eur_per_mwh or price_eur_per_kwh column")
    prices = pd.Series(values, index=index, name="spot_eur_per_kwh")
    prices = prices[~prices.index.duplicated(keep="last")].sort_index()
    return prices


def align_prices(prices: pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    """Spot price valid at each step of ``index`` (steps shorter than the price period inherit it;
    longer steps average the periods inside them). Steps without a price stay NaN."""
    if prices.empty:
        return pd.Series(np.nan, index=index)
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(hours=1)
    price_step = _modal_step(pd.DatetimeIndex(prices.index)) if len(prices) > 1 else step
    if price_step > step:
        fine = prices.reindex(pd.date_range(prices.index[0], prices.index[-1] + price_step - step, freq=step))
        fine = fine.ffill(limit=int(price_step / step) - 1)
        return fine.reindex(index)
    coarse = prices.resample(step, origin=index[0]).mean()
    return coarse.reindex(index)


def _parse_times(column: pd.Series, name: str) -> pd.DatetimeIndex:
    text = column.astype(str).str.strip()
    naive = ~text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    if naive.any():
        # Local wall-clock times with a zone name (see shems_optimizer.core.timestamps), row by row.
        clock = LocalClock()
        stamps = []
        for row, value in enumerate(text, start=2):
            try:
                stamps.append(clock.parse(value).astimezone(UTC))
            except TimestampError as err:
                raise SeriesError(f"column {name}, row {row}: {err}") from None
        return pd.DatetimeIndex(stamps).as_unit("ns")
    try:
        parsed = pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, TypeError) as err:
        raise SeriesError(f"column {name}: cannot parse timestamps ({err})") from err
    if parsed.isna().any():
        raise SeriesError(f"column {name}: {int(parsed.isna().sum())} empty or unparseable timestamp(s)")
    # Nanoseconds everywhere: positions are found by comparing integer timestamps.
    return pd.DatetimeIndex(parsed).as_unit("ns")


def _modal_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    diffs = pd.Series(index[1:] - index[:-1])
    diffs = diffs[diffs > pd.Timedelta(0)]
    if diffs.empty:
        raise SeriesError("all timestamps are equal: cannot infer the time step")
    return pd.Timedelta(diffs.mode().iloc[0])


def _check_units(frame: pd.DataFrame) -> None:
    load = frame["load_W"].dropna()
    if len(load) >= 48 and 0 < load.max() < _KW_SUSPICION_MAX_W:
        raise SeriesError(
            f"load_W never exceeds {load.max():.3g}: these look like kW, not W. Name the column "
            "load_kW (it is then converted) or multiply the values by 1000"
        )
    if "pv_W" in frame.columns:
        pv = frame["pv_W"].dropna()
        if len(pv) >= 48 and 0 < pv.max() < _KW_SUSPICION_MAX_W / 4:
            raise SeriesError(
                f"pv_W never exceeds {pv.max():.3g}: these look like kW, not W. Name the column pv_kW "
                "or multiply the values by 1000"
            )


def _fmt(step: pd.Timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"
