"""Forecast horizons and the aggregation of step forecasts into usage and cost buckets.

Three horizons serve three purposes: the plan (48 h at the plan's own step), the week ahead (7 days,
hourly) and the month ahead (30 days, one bucket per local calendar day, so DST days have 23 or 25
hours). Every bucket boundary is a timezone-aware timestamp; nothing is counted by position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Horizon:
    """``length`` ahead of the origin, in buckets of ``bucket`` (``None`` = local calendar days)."""

    name: str
    length: pd.Timedelta
    bucket: pd.Timedelta | None


def plan_horizon(step: pd.Timedelta) -> Horizon:
    return Horizon("plan_48h", pd.Timedelta(hours=48), step)


WEEK_HOURLY = Horizon("week_hourly", pd.Timedelta(days=7), pd.Timedelta(hours=1))
MONTH_DAILY = Horizon("month_daily", pd.Timedelta(days=30), None)


def bucket_starts(origin: pd.Timestamp, horizon: Horizon, timezone: str) -> pd.DatetimeIndex:
    """Start of every bucket (UTC). Daily buckets begin at local midnights; the first one at ``origin``."""
    if origin.tzinfo is None:
        raise ValueError("origin must be timezone-aware")
    origin = origin.tz_convert("UTC")
    end = origin + horizon.length
    if horizon.bucket is not None:
        return pd.date_range(origin, end, freq=horizon.bucket, inclusive="left").as_unit("ns")
    local = origin.tz_convert(timezone)
    first_midnight = (local.normalize().tz_localize(None) + pd.Timedelta(days=1)).tz_localize(timezone)
    midnights = pd.date_range(
        first_midnight.tz_localize(None), periods=int(horizon.length / pd.Timedelta(days=1)) + 1, freq="D"
    ).tz_localize(timezone, nonexistent="shift_forward", ambiguous=False)
    starts = [origin, *[m.tz_convert("UTC") for m in midnights if origin < m.tz_convert("UTC") < end]]
    return pd.DatetimeIndex(starts).as_unit("ns")


def bucket_sums_kwh(
    index: pd.DatetimeIndex, power_w: np.ndarray, starts: pd.DatetimeIndex, end: pd.Timestamp
) -> np.ndarray:
    """Energy (kWh) of a step power series in each bucket [start_i, start_i+1) (the last ends at ``end``)."""
    if len(index) != len(power_w):
        raise ValueError(f"power has {len(power_w)} values for {len(index)} steps")
    step_h = (index[1] - index[0]) / pd.Timedelta(hours=1) if len(index) > 1 else 1.0
    energy = np.asarray(power_w, dtype=float) * step_h / 1000.0
    edges = np.append(starts.as_unit("ns").asi8, end.tz_convert("UTC").as_unit("ns").value)
    which = np.searchsorted(edges, index.as_unit("ns").asi8, side="right") - 1
    out = np.zeros(len(starts))
    inside = (which >= 0) & (which < len(starts))
    np.add.at(out, which[inside], energy[inside])
    return out


@dataclass(frozen=True)
class UsageCostBucket:
    start: pd.Timestamp
    load_kwh: float
    load_kwh_p10: float
    load_kwh_p90: float
    pv_kwh: float
    import_kwh: float
    export_kwh: float
    cost_eur: float


def usage_and_cost(
    index: pd.DatetimeIndex,
    load_w: tuple[np.ndarray, np.ndarray, np.ndarray],
    pv_w: np.ndarray,
    buy_eur_per_kwh: np.ndarray,
    sell_eur_per_kwh: np.ndarray,
    horizon: Horizon,
    origin: pd.Timestamp,
    timezone: str,
) -> list[UsageCostBucket]:
    """Expected usage and cost per bucket without a battery or load shifting (the reference a plan beats).

    ``load_w`` is (P10, P50, P90) per step; bucket P10/P90 are sums of the step quantiles, a deliberately
    wide band (errors of neighbouring steps partly cancel in reality).
    """
    starts = bucket_starts(origin, horizon, timezone)
    end = origin + horizon.length
    step_h = (index[1] - index[0]) / pd.Timedelta(hours=1) if len(index) > 1 else 1.0
    net = load_w[1] - pv_w
    imp_w, exp_w = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    cost_w = imp_w * buy_eur_per_kwh - exp_w * sell_eur_per_kwh  # EUR per kWh x W
    sums = {
        name: bucket_sums_kwh(index, values, starts, end)
        for name, values in {
            "p10": load_w[0],
            "p50": load_w[1],
            "p90": load_w[2],
            "pv": pv_w,
            "imp": imp_w,
            "exp": exp_w,
            "cost": cost_w,
        }.items()
    }
    del step_h
    return [
        UsageCostBucket(
            start=starts[i],
            load_kwh=float(sums["p50"][i]),
            load_kwh_p10=float(sums["p10"][i]),
            load_kwh_p90=float(sums["p90"][i]),
            pv_kwh=float(sums["pv"][i]),
            import_kwh=float(sums["imp"][i]),
            export_kwh=float(sums["exp"][i]),
            cost_eur=float(sums["cost"][i]),
        )
        for i in range(len(starts))
    ]
