"""Scenario files: a site (YAML or JSON) plus a series CSV, as used by ``shems-optimizer optimize``.

The CSV has a ``timestamp`` column (ISO 8601 with offset, or local time with a zone name such as
``2024-10-27T02:30[Europe/Paris]``; any resolution) and value columns whose
names carry their unit, so a value is never read in the wrong unit:

====================  ==================================================  =========
column                meaning                                             converted
====================  ==================================================  =========
load_kw / load_w      base (non-controllable) load                        W ÷ 1000
pv_kw / pv_w          PV production forecast                              W ÷ 1000
buy_eur_per_kwh       import price (``buy_price_per_kwh``, ``*_per_mwh``)  MWh ÷ 1000
sell_eur_per_kwh      export price (same aliases)                         MWh ÷ 1000
outdoor_temp_c        outdoor temperature (heat pumps)
====================  ==================================================  =========

The horizon is the site's ``horizon`` block when present, else one step per CSV row.
See docs/scenario-format.md for the full reference and its JSON Schema.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.loading import horizon_from_dict, site_from_dict
from shems_optimizer.core.model.series import Series
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.timegrid import TimeGrid, TimeGridError
from shems_optimizer.core.timestamps import LocalClock, TimestampError

# CSV column (lower case) -> (series field, factor to the field's unit)
COLUMN_ALIASES: dict[str, tuple[str, float]] = {
    "load_kw": ("load_kw", 1.0),
    "load_w": ("load_kw", 1e-3),
    "pv_kw": ("pv_kw", 1.0),
    "pv_w": ("pv_kw", 1e-3),
    "buy_eur_per_kwh": ("buy_eur_per_kwh", 1.0),
    "buy_price_per_kwh": ("buy_eur_per_kwh", 1.0),
    "buy_eur_per_mwh": ("buy_eur_per_kwh", 1e-3),
    "sell_eur_per_kwh": ("sell_eur_per_kwh", 1.0),
    "sell_price_per_kwh": ("sell_eur_per_kwh", 1.0),
    "sell_eur_per_mwh": ("sell_eur_per_kwh", 1e-3),
    "outdoor_temp_c": ("outdoor_temp_c", 1.0),
}
TIMESTAMP_COLUMNS = ("timestamp", "timestamp_utc", "time", "start")


@dataclass(frozen=True, eq=False)
class Scenario:
    site: Site
    series: Series


def read_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON file into a mapping (errors name the file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(path), f"cannot read: {err.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(
            str(path), f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), "expected a mapping of settings at the top level")
    return data


def read_csv_columns(path: Path) -> tuple[list[datetime], dict[str, list[float]]]:
    """Timestamps and the recognised value columns, converted to the series units."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(path), f"cannot read: {err.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise ConfigError(str(path), "the CSV is empty")
        names = {name.strip().lower(): name for name in reader.fieldnames if name}
        ts_col = next((names[c] for c in TIMESTAMP_COLUMNS if c in names), None)
        if ts_col is None:
            raise ConfigError(f"{path.name}.timestamp", f"no timestamp column (one of {TIMESTAMP_COLUMNS})")
        picked = {low: names[low] for low in names if low in COLUMN_ALIASES}
        if not any(COLUMN_ALIASES[low][0] == "load_kw" for low in picked):
            raise ConfigError(f"{path.name}.load_kw", "no load column (load_kw or load_w)")
        fields = [COLUMN_ALIASES[low][0] for low in picked]
        dup = {f for f in fields if fields.count(f) > 1}
        if dup:
            raise ConfigError(f"{path.name}.{sorted(dup)[0]}", "given twice under different names/units")
        stamps: list[datetime] = []
        clock = LocalClock()
        values: dict[str, list[float]] = {COLUMN_ALIASES[low][0]: [] for low in picked}
        for line, row in enumerate(reader, start=2):
            raw_ts = (row.get(ts_col) or "").strip()
            try:
                stamp = clock.parse(raw_ts)
            except TimestampError as err:
                raise ConfigError(f"{path.name}:{line}.timestamp", str(err)) from None
            stamps.append(stamp)
            for low, original in picked.items():
                target, factor = COLUMN_ALIASES[low]
                cell = (row.get(original) or "").strip()
                values[target].append(_number(cell, factor))
    return stamps, values


def _number(cell: str, factor: float) -> float:
    if cell == "" or cell.lower() in ("nan", "na", "null", "none", "unavailable", "unknown"):
        return math.nan
    try:
        return float(cell) * factor
    except ValueError:
        return math.nan


def grid_for(site: Site, raw_site: Mapping[str, Any], stamps: list[datetime]) -> TimeGrid:
    """The site's ``horizon`` block, or one step per CSV row (last row as long as the median)."""
    horizon = horizon_from_dict(raw_site)
    ordered = sorted(stamps, key=lambda s: s.timestamp())
    try:
        if horizon is not None:
            start = horizon.get("start")
            begin = datetime.fromisoformat(str(start)) if start is not None else ordered[0]
            segments = [(timedelta(minutes=s["minutes"]), s["count"]) for s in horizon["steps"]]
            return TimeGrid.from_segments(begin, segments, site.timezone)
        if len(ordered) < 2:
            raise ConfigError("series.timestamp", "need at least two rows to infer the step length")
        seconds = np.array([s.timestamp() for s in ordered])
        median = float(np.median(np.diff(seconds)))
        boundaries = [*ordered, datetime.fromtimestamp(seconds[-1] + median, ordered[-1].tzinfo)]
        return TimeGrid.from_boundaries(boundaries, site.timezone)
    except TimeGridError as err:
        raise ConfigError("horizon", str(err)) from None


def load_scenario(site_path: Path, series_path: Path) -> Scenario:
    """Read a site file and a series CSV into a :class:`Scenario` ready for ``optimize``."""
    raw_site = read_mapping(site_path)
    stamps, columns = read_csv_columns(series_path)
    if not stamps:
        raise ConfigError(f"{series_path.name}", "no data rows")
    # Times of day ("07:00") in the site refer to the horizon start.
    provisional = site_from_dict({k: v for k, v in raw_site.items() if k in ("timezone",)})
    grid = grid_for(provisional, raw_site, stamps)
    site = site_from_dict(raw_site, reference=grid.start)
    series = Series.from_samples(grid, stamps, columns)
    return Scenario(site=site, series=series)
