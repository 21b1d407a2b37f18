"""The whole backtest: read inputs, evaluate forecasts, simulate the strategies, report figures."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shems_optimizer.app.backtest.evaluation import evaluate
from shems_optimizer.app.backtest.inputs import BacktestSite, battery_limits, fill_actuals, load_site
from shems_optimizer.app.backtest.simulate import (
    Market,
    Replay,
    StrategyResult,
    simulate_mpc,
    simulate_no_battery,
    simulate_rule_based,
)
from shems_optimizer.app.backtest.suite import ForecastSuite
from shems_optimizer.core.forecast.context import SeriesContext
from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.forecast.series import SPOT_COLUMN, align_prices, read_price_csv, read_series_csv
from shems_optimizer.core.model.tariff import Fixed, PriceRule
from shems_optimizer.core.model.tariff import Market as MarketRule
from shems_optimizer.core.planner import Options

MIN_DAYS = 3


@dataclass(frozen=True)
class BacktestOptions:
    start: date | None = None
    end: date | None = None  # exclusive
    replan_hours: float = 1.0
    horizon_hours: float = 48.0
    retrain_days: float = 7.0
    perfect_replan_hours: float = 24.0
    # The perfect-foresight reference plans over its own horizon: a shorter MPC horizon must not
    # weaken the reference it is measured against.
    perfect_horizon_hours: float = 48.0
    warmup_days: float = 7.0
    execution: str = "modes"
    forecast_only: bool = False


def run_backtest(
    series_path: str | Path,
    site_path: str | Path,
    prices_path: str | Path | None,
    options: BacktestOptions,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    began = time.perf_counter()
    clock = time.perf_counter()

    def say(message: str) -> None:
        if log is not None:
            log(f"[{time.perf_counter() - clock:6.0f} s] {message}")

    bt = load_site(site_path)
    frame, report = read_series_csv(series_path, bt.location)
    spot_series = _spot(frame, prices_path, bt)
    result = run_on_frame(frame, bt, spot_series, options, say)
    result["series_repairs"] = list(report.repairs)
    result["runtime_s"] = time.perf_counter() - began
    return result


def run_on_frame(
    frame: pd.DataFrame,
    bt: BacktestSite,
    spot: pd.Series | None,
    options: BacktestOptions,
    say: Callable[[str], None],
) -> dict[str, Any]:
    began = time.perf_counter()
    step = pd.Timedelta(frame.index[1] - frame.index[0])
    hours = step / pd.Timedelta(hours=1)
    horizon = round(options.horizon_hours / hours)
    perfect_horizon = round(options.perfect_horizon_hours / hours)
    ctx = SeriesContext.build(frame, bt.timezone, bt.country, bt.location, extra_steps=horizon)
    spd = ctx.grid.steps_per_day
    n = len(frame)
    start, end = _period(ctx, n, options)
    if end - start < spd:
        raise SeriesError(
            f"the backtest period has {(end - start) / spd:.1f} days; it needs at least one full day after "
            f"{options.warmup_days:g} days of warm-up (the series covers {n / spd:.1f} days)"
        )
    spot_on_grid = align_prices(spot, ctx.grid.index).to_numpy(dtype=float) if spot is not None else None
    suite = ForecastSuite(
        ctx=ctx,
        anchor=start,
        retrain_steps=max(1, round(options.retrain_days * spd)),
        spot=spot,
        spot_on_grid=spot_on_grid,
    )
    local = ctx.grid.index.tz_convert(bt.timezone)
    origins = [
        i for i in range(start, min(end, n - horizon + 1)) if local[i].hour == 0 and local[i].minute == 0
    ]
    say(f"forecast evaluation: {len(origins)} daily origins")
    t0 = time.perf_counter()
    figures: dict[str, Any] = {
        "period_start": ctx.grid.index[start].isoformat(),
        "period_end": ctx.grid.index[end - 1].isoformat() if end <= n else None,
        "period_days": (end - start) / spd,
        "step_minutes": step.total_seconds() / 60.0,
    }
    figures.update(evaluate(suite, origins, horizon))
    figures["forecast_eval_s"] = time.perf_counter() - t0
    if options.forecast_only or bt.battery is None:
        if bt.battery is None:
            figures["note"] = "no battery in the site: only the forecasts were evaluated"
        figures["model_fits"] = suite.fits
        figures["model_fit_s"] = suite.fit_seconds
        figures["runtime_s"] = time.perf_counter() - began
        return figures

    actuals = fill_actuals(frame, spd)
    market = _market(bt, ctx.grid.index[:n], spot_on_grid[:n] if spot_on_grid is not None else None)
    limits = battery_limits(bt.battery)
    soc0 = bt.battery.initial_soc
    # Energy left at the end is worth what it saves later: the file's value, else the period's mean
    # import price x discharge efficiency, for the plans' horizon ends and the net costs alike, so a
    # strategy cannot look cheaper by ending emptier.
    value = (
        bt.leftover_value
        if bt.leftover_value is not None
        else float(np.mean(market.buy[start:end])) * bt.battery.discharge_efficiency
    )
    planned_site = replace(bt.site, batteries=(replace(bt.battery, terminal_value_eur_per_kwh=value),))
    plan_options = Options(compute_baseline=False, time_limit_s=10.0)
    index = ctx.grid.index

    replan_steps = max(1, round(options.replan_hours / hours))
    mpc_origins = list(range(start, end, replan_steps))
    medians: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def mpc_forecast(
        origin: int, steps: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        if origin not in medians:
            # Forecast every re-plan of this model period at once (same models, same inputs).
            block = [o for o in mpc_origins if o >= origin and suite.cutoff(o) == suite.cutoff(origin)]
            medians.clear()
            medians.update(suite.medians(block or [origin], horizon))
        steps = min(steps, n - origin)
        load_p50, pv_p50 = medians[origin]
        idx = index[origin : origin + steps]
        pv = pv_p50[:steps] if pv_p50 is not None else np.zeros(steps)
        spot = suite.forecast_spot(origin, steps)
        spot_fc = spot.p50 if spot is not None else None
        return load_p50[:steps], pv, bt.tariff.buy_prices(idx, spot_fc), bt.tariff.sell_prices(idx, spot_fc)

    def perfect_forecast(
        origin: int, steps: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        # The reference plans to the end of the period, where what is left is worth the leftover
        # value: it optimises exactly what the net costs measure.
        sl = slice(origin, min(origin + steps, end))
        return actuals.load_w[sl], actuals.pv_w[sl], market.buy[sl], market.sell[sl]

    strategies: dict[str, StrategyResult] = {}
    replay = Replay(actuals.load_w, actuals.pv_w, market, limits, soc0, start, end, hours)
    strategies["no_battery"] = simulate_no_battery(replay)
    strategies["rule_based"] = simulate_rule_based(replay)
    t0 = time.perf_counter()
    say("perfect foresight ...")
    strategies["perfect"] = simulate_mpc(
        "perfect",
        replay,
        planned_site,
        index,
        perfect_forecast,
        max(1, round(options.perfect_replan_hours / hours)),
        perfect_horizon,
        plan_options,
    )
    perfect_s = time.perf_counter() - t0
    say(f"perfect foresight done in {perfect_s:.0f} s; MPC ...")
    t0 = time.perf_counter()
    last_report = [time.perf_counter()]

    def progress(origin: int) -> None:
        if time.perf_counter() - last_report[0] > 30:
            last_report[0] = time.perf_counter()
            say(f"  MPC at {index[origin].isoformat()} ({(origin - start) / max(1, end - start):.0%})")

    strategies["mpc"] = simulate_mpc(
        "mpc",
        replay,
        planned_site,
        index,
        mpc_forecast,
        replan_steps,
        horizon,
        plan_options,
        execution=options.execution,
        progress=progress,
    )
    mpc_s = time.perf_counter() - t0
    # Strategies end with different amounts of energy stored; count the change at its value.
    net_cost = {
        name: r.cost_eur
        - ((r.final_soc if r.final_soc is not None else soc0) - soc0) * bt.battery.capacity_kwh * value
        for name, r in strategies.items()
    }
    base = net_cost["no_battery"]
    perfect_savings = base - net_cost["perfect"]

    def share(name: str) -> float | None:
        if perfect_savings <= 0:
            return None
        return (base - net_cost[name]) / perfect_savings

    figures.update(
        {
            "cost_baseline": base,
            "cost_rule_based": net_cost["rule_based"],
            "cost_mpc": net_cost["mpc"],
            "cost_perfect": net_cost["perfect"],
            "currency": bt.site.currency,
            "cost_note": (
                f"{bt.site.currency} over the period, net of the change in stored energy valued at "
                f"{value:.4g} {bt.site.currency}/kWh ("
                + (
                    "the battery's terminal value"
                    if bt.leftover_value is not None
                    else "mean import price x discharge efficiency"
                )
                + "); baseline = no battery"
            ),
            "leftover_value_per_kwh": value,
            "savings_mpc_eur": base - net_cost["mpc"],
            "savings_rule_based_eur": base - net_cost["rule_based"],
            "savings_perfect_eur": perfect_savings,
            "captured_share": share("mpc"),
            "captured_share_rule_based": share("rule_based"),
            "execution": options.execution,
            "replan_hours": options.replan_hours,
            "horizon_hours": options.horizon_hours,
            "retrain_days": options.retrain_days,
            "perfect_replan_hours": options.perfect_replan_hours,
            "perfect_horizon_hours": options.perfect_horizon_hours,
            "mpc_plans": strategies["mpc"].plans,
            "mpc_plan_s": strategies["mpc"].plan_seconds,
            "mpc_s": mpc_s,
            "perfect_s": perfect_s,
            "mpc_plan_status": strategies["mpc"].statuses,
            "model_fits": suite.fits,
            "model_fit_s": suite.fit_seconds,
            "actual_gaps_filled": actuals.filled,
            "strategies": {
                name: {
                    "energy_cost_eur": r.cost_eur,
                    "net_cost_eur": net_cost[name],
                    "import_kwh": r.import_kwh,
                    "export_kwh": r.export_kwh,
                    "battery_throughput_kwh": r.throughput_kwh,
                    "final_soc": r.final_soc,
                }
                for name, r in strategies.items()
            },
            "battery": {
                "capacity_kwh": bt.battery.capacity_kwh,
                "max_charge_kw": bt.battery.max_charge_kw,
                "max_discharge_kw": bt.battery.max_discharge_kw,
                "soc_min": bt.battery.soc_min,
                "soc_max": bt.battery.soc_max,
                "charge_efficiency": bt.battery.charge_efficiency,
                "discharge_efficiency": bt.battery.discharge_efficiency,
                "initial_soc": soc0,
            },
            "tariff": {
                "buy": _describe(bt.tariff.buy, bt.tariff.currency),
                "sell": _describe(bt.tariff.sell, bt.tariff.currency),
            },
        }
    )
    figures["runtime_s"] = time.perf_counter() - began
    return figures


def _period(ctx: SeriesContext, n: int, options: BacktestOptions) -> tuple[int, int]:
    spd = ctx.grid.steps_per_day
    tz = ctx.grid.timezone
    if n < MIN_DAYS * spd:
        raise SeriesError(
            f"the series covers {n / spd:.1f} days; a backtest needs at least {MIN_DAYS} days "
            "(forecasters fall back to profiles below 7 days of history)"
        )
    if options.start is not None:
        start = _position_of_day(ctx, options.start, tz)
    else:
        first = ctx.grid.index[0] + pd.Timedelta(days=options.warmup_days)
        local = first.tz_convert(tz)
        day = local.normalize() if local == local.normalize() else local.normalize() + pd.Timedelta(days=1)
        start = _position_of_day(ctx, day.date(), tz)
    end = _position_of_day(ctx, options.end, tz) if options.end is not None else n
    end = min(end, n)
    if start < 1:
        raise SeriesError("the backtest start must leave at least one step of history before it")
    return start, end


def _position_of_day(ctx: SeriesContext, day: date, tz: str) -> int:
    moment = pd.Timestamp(day).tz_localize(tz).tz_convert("UTC")
    pos = int(np.searchsorted(ctx.grid.index.asi8, moment.value))
    if pos >= len(ctx.grid.index):
        raise SeriesError(f"{day.isoformat()} is after the end of the series")
    return pos


def _spot(frame: pd.DataFrame, prices_path: str | Path | None, bt: BacktestSite) -> pd.Series | None:
    if prices_path is not None:
        return read_price_csv(prices_path)
    if SPOT_COLUMN in frame.columns:
        return frame[SPOT_COLUMN].dropna()
    if bt.needs_spot:
        raise SeriesError(
            "the tariff follows the spot price but there are no spot prices: pass --prices CSV or add a "
            f"{SPOT_COLUMN} column to the series"
        )
    return None


def _market(bt: BacktestSite, index: pd.DatetimeIndex, spot: np.ndarray | None) -> Market:
    if bt.tariff.needs_spot and (spot is None or not np.isfinite(spot).all()):
        missing = len(index) if spot is None else int((~np.isfinite(spot)).sum())
        raise SeriesError(f"spot prices are missing for {missing} step(s) of the backtest period")
    return Market(buy=bt.tariff.buy_prices(index, spot), sell=bt.tariff.sell_prices(index, spot))


def _describe(rule: PriceRule, currency: str) -> str:
    if isinstance(rule, MarketRule):
        vat = f", + {rule.vat:.0%} VAT" if rule.vat else ""
        return f"{rule.multiplier:g} x spot + {rule.fees:g} {currency}/kWh{vat}"
    if isinstance(rule, Fixed):
        return f"fixed {rule.price:g} {currency}/kWh"
    return "site time-of-use tariff"
