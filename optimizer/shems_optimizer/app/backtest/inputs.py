"""What a backtest runs on: the site, the measured series, the spot prices and the retail tariff.

The site file is the planner's own site file (see docs/scenario-format.md) with one extra top-level
section, ``backtest``, holding what only forecasting and simulation need::

    backtest:
      latitude: 48.83          # for the sun's position (PV forecast, night detection)
      longitude: 6.86
      country: FR              # public holidays (or the site's top-level country)
      buy:  {spot_adder_eur_per_kwh: 0.20}   # retail = (spot_multiplier x spot + adder) x (1 + vat)
      sell: {spot_adder_eur_per_kwh: 0.0}    # or {fixed_eur_per_kwh: 0.08}

A side without ``buy``/``sell`` takes the site's time-of-use tariff (grid.tariff). Both make one
:class:`~shems_optimizer.core.model.tariff.Tariff`, the model the planner and the bill price with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from shems_optimizer.core.control.limits import BatteryLimits
from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.forecast.solar import Location
from shems_optimizer.core.model.assets import Battery
from shems_optimizer.core.model.calendar import country_code
from shems_optimizer.core.model.errors import ConfigError
from shems_optimizer.core.model.loading import site_from_dict
from shems_optimizer.core.model.site import Site
from shems_optimizer.core.model.tariff import Fixed, Market, PriceRule, Tariff


@dataclass(frozen=True)
class BacktestSite:
    site: Site
    location: Location | None
    country: str | None
    tariff: Tariff
    # What a kWh left in the battery is worth (the file's terminal_value_eur_per_kwh); None: not
    # given, then the backtest values it at the period's mean import price x discharge efficiency.
    leftover_value: float | None = None

    @property
    def timezone(self) -> str:
        return self.site.timezone

    @property
    def battery(self) -> Battery | None:
        return self.site.batteries[0] if self.site.batteries else None

    @property
    def needs_spot(self) -> bool:
        return self.tariff.needs_spot


def battery_limits(battery: Battery) -> BatteryLimits:
    """The controller's view of a planner battery (kW/kWh -> W/Wh)."""
    return BatteryLimits(
        capacity_wh=battery.capacity_kwh * 1000.0,
        max_charge_w=battery.max_charge_kw * 1000.0,
        max_discharge_w=battery.max_discharge_kw * 1000.0,
        soc_min=battery.soc_min,
        soc_max=battery.soc_max,
        charge_efficiency=battery.charge_efficiency,
        discharge_efficiency=battery.discharge_efficiency,
        may_export=battery.may_export,
    )


def load_site(path: str | Path) -> BacktestSite:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError("site", f"file not found: {path}") from err
    except yaml.YAMLError as err:
        raise ConfigError("site", f"{path} is not valid YAML: {err}") from err
    return site_from_mapping(data)


def site_from_mapping(data: Any) -> BacktestSite:
    if not isinstance(data, Mapping):
        raise ConfigError("site", "expected a mapping of settings at the top level")
    planner_part = {k: v for k, v in data.items() if k not in ("backtest", "horizon")}
    extra = data.get("backtest") or {}
    if not isinstance(extra, Mapping):
        raise ConfigError("backtest", "expected a mapping (latitude, longitude, country, buy, sell)")
    unknown = sorted(set(extra) - {"latitude", "longitude", "country", "buy", "sell"})
    if unknown:
        raise ConfigError(
            f"backtest.{unknown[0]}", "unknown setting; expected latitude, longitude, country, buy, sell"
        )
    site = site_from_dict(planner_part)
    if len(site.batteries) > 1:
        raise ConfigError("batteries", "the backtest simulates one battery; list at most one")
    for kind in ("evs", "appliances", "thermal"):
        if getattr(site, kind):
            raise ConfigError(
                kind,
                "the closed-loop backtest simulates PV and one battery; "
                "remove EVs, appliances and thermal loads",
            )
    location = None
    if "latitude" in extra or "longitude" in extra:
        try:
            location = Location(float(extra["latitude"]), float(extra["longitude"]))
        except KeyError as err:
            raise ConfigError(f"backtest.{err.args[0]}", "latitude and longitude go together") from None
        except (TypeError, ValueError) as err:
            raise ConfigError("backtest.latitude", str(err)) from None
    country = country_code("backtest.country", extra["country"]) if "country" in extra else site.country
    buy = _retail("backtest.buy", extra.get("buy"))
    sell = _retail("backtest.sell", extra.get("sell"))
    own = site.grid.tariff
    if (buy is None or sell is None) and own is None:
        raise ConfigError("backtest.buy", "give backtest.buy and backtest.sell, or a grid.tariff")
    tariff = Tariff(
        buy=buy if buy is not None else own.buy,  # type: ignore[union-attr]
        sell=sell if sell is not None else own.sell,  # type: ignore[union-attr]
        timezone=site.timezone,
        country=country,
        currency=site.currency,
    )
    batteries = planner_part.get("batteries") or [{}]
    given = batteries[0].get("terminal_value_eur_per_kwh") if isinstance(batteries[0], Mapping) else None
    leftover = site.batteries[0].terminal_value_eur_per_kwh if given is not None and site.batteries else None
    return BacktestSite(site, location, country, tariff, leftover)


def _retail(field: str, raw: Any) -> PriceRule | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(
            field, "expected {spot_adder_eur_per_kwh: X[, spot_multiplier: M]} or {fixed_eur_per_kwh: X}"
        )
    if "fixed_eur_per_kwh" in raw:
        return Fixed(float(raw["fixed_eur_per_kwh"]))
    unknown = sorted(set(raw) - {"spot_adder_eur_per_kwh", "spot_multiplier", "vat"})
    if unknown:
        raise ConfigError(f"{field}.{unknown[0]}", "unknown setting")
    return Market(
        fees=float(raw.get("spot_adder_eur_per_kwh", 0.0)),
        multiplier=float(raw.get("spot_multiplier", 1.0)),
        vat=float(raw.get("vat", 0.0)),
    )


@dataclass(frozen=True, eq=False)
class Actuals:
    """What really happened at each grid position, gap-free, for the simulation."""

    load_w: np.ndarray
    pv_w: np.ndarray
    spot: np.ndarray | None
    filled: dict[str, int]


def fill_actuals(frame: pd.DataFrame, steps_per_day: int) -> Actuals:
    """Gap-free load and PV for simulation (forecasters still see the gaps as gaps).

    Gaps up to 2 h are interpolated; longer load gaps take the value a week earlier (else a day
    earlier); longer PV gaps take the provider forecast where there is one, else 0. Counts are reported.
    """
    filled: dict[str, int] = {}
    load = frame["load_W"].to_numpy(dtype=float).copy()
    filled["load_W"] = int(np.isnan(load).sum())
    short = max(1, 4 * steps_per_day // 96)
    load = _interpolate_short(load, short)
    for lag in (7 * steps_per_day, steps_per_day, -steps_per_day, -7 * steps_per_day):
        gaps = np.flatnonzero(np.isnan(load))
        src = gaps - lag
        ok = (src >= 0) & (src < len(load))
        load[gaps[ok]] = load[src[ok]]
    if np.isnan(load).any():
        raise SeriesError(f"load_W: {int(np.isnan(load).sum())} missing step(s) could not be filled")
    if "pv_W" in frame.columns:
        pv = frame["pv_W"].to_numpy(dtype=float).copy()
        filled["pv_W"] = int(np.isnan(pv).sum())
        pv = _interpolate_short(pv, short)
        if "pv_forecast_W" in frame.columns:
            provider = frame["pv_forecast_W"].to_numpy(dtype=float)
            pv = np.where(np.isnan(pv), provider, pv)
        pv = np.where(np.isnan(pv), 0.0, pv)
    else:
        pv = np.zeros(len(load))
    return Actuals(load_w=load, pv_w=np.maximum(pv, 0.0), spot=None, filled=filled)


def _interpolate_short(values: np.ndarray, limit: int) -> np.ndarray:
    series = pd.Series(values)
    return np.array(series.interpolate(limit=limit, limit_area="inside").to_numpy(dtype=float), copy=True)
