"""`shems-optimizer backtest --series CSV --site SITE [--prices CSV] [--start D] [--end D] [--json]`.

Rolling-origin forecast evaluation and closed-loop MPC simulation on measured data; see
docs/forecasting.md for the method and the figures it prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from shems_optimizer.core.forecast.errors import SeriesError
from shems_optimizer.core.model.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="evaluate forecasts and simulate MPC on measured data",
        description="Rolling-origin forecast evaluation and closed-loop MPC simulation on measured data.",
    )
    parser.add_argument(
        "--series", required=True, help="measured series CSV (load_W, pv_W, pv_forecast_W, ...)"
    )
    parser.add_argument(
        "--site", required=True, help="site YAML (the planner's site file + a backtest section)"
    )
    parser.add_argument("--prices", help="day-ahead spot prices CSV (price_eur_per_mwh or price_eur_per_kwh)")
    parser.add_argument(
        "--start", type=_day, help="first simulated day, local date YYYY-MM-DD (default: after warm-up)"
    )
    parser.add_argument(
        "--end", type=_day, help="day after the last simulated day, YYYY-MM-DD (default: end of data)"
    )
    parser.add_argument("--replan-hours", type=float, default=1.0, help="MPC re-plan interval (default 1 h)")
    parser.add_argument(
        "--horizon-hours", type=float, default=48.0, help="plan and forecast horizon (default 48 h)"
    )
    parser.add_argument(
        "--perfect-horizon-hours",
        type=float,
        default=48.0,
        help="horizon of the perfect-foresight reference, independent of --horizon-hours (default 48 h)",
    )
    parser.add_argument(
        "--retrain-days", type=float, default=7.0, help="forecaster retraining interval (default 7 days)"
    )
    parser.add_argument(
        "--execution",
        choices=("modes", "setpoints"),
        default="modes",
        help="execute plans as modes with targets (default, as the add-on does) or as fixed power setpoints",
    )
    parser.add_argument(
        "--forecast-only", action="store_true", help="evaluate forecasts, skip the simulation"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=_run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _run(args: argparse.Namespace) -> int:
    from shems_optimizer.app.backtest.run import BacktestOptions, run_backtest

    options = BacktestOptions(
        start=args.start,
        end=args.end,
        replan_hours=args.replan_hours,
        horizon_hours=args.horizon_hours,
        perfect_horizon_hours=args.perfect_horizon_hours,
        retrain_days=args.retrain_days,
        execution=args.execution,
        forecast_only=args.forecast_only,
    )
    if (
        min(options.replan_hours, options.horizon_hours, options.perfect_horizon_hours, options.retrain_days)
        <= 0
    ):
        print(
            "backtest: --replan-hours, --horizon-hours, --perfect-horizon-hours and --retrain-days "
            "must be > 0",
            file=sys.stderr,
        )
        return 2
    try:
        figures = run_backtest(
            args.series, args.site, args.prices, options, log=lambda msg: print(msg, file=sys.stderr)
        )
    except (SeriesError, ConfigError) as err:
        print(f"backtest: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        for key, value in figures.items():
            if isinstance(value, float):
                print(f"{key}: {value:.6g}")
            elif not isinstance(value, dict | list):
                print(f"{key}: {value}")
    return 0
