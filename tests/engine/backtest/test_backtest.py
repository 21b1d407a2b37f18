"""The backtest end to end on the bundled three weeks of real data (a short period, real planner)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shems_optimizer.app.backtest.run import BacktestOptions, run_backtest
from shems_optimizer.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "backtest"
SERIES = DATA / "household_2024-05-13_2024-06-02_30min.csv"
PRICES = DATA / "de_lu_day_ahead_2024-04-01_2024-06-04.csv"
SITE = (
    Path(__file__).resolve().parents[3] / "optimizer" / "shems_optimizer" / "data" / "backtest" / "site.yaml"
)


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    options = BacktestOptions(start=date(2024, 5, 27), end=date(2024, 5, 29), retrain_days=14)
    return run_backtest(SERIES, SITE, PRICES, options)


def test_reports_every_figure(figures: dict[str, Any]) -> None:
    for key in (
        "load_mae_w",
        "load_skill_vs_persistence",
        "pv_mae_w",
        "pv_skill_vs_provider",
        "cost_baseline",
        "cost_mpc",
        "cost_perfect",
        "captured_share",
        "runtime_s",
        "load_p10_p90_coverage",
        "price_skill_vs_tomorrow_equals_today",
        "cost_rule_based",
    ):
        assert figures[key] is not None, key
    json.dumps(figures)  # JSON-ready
    assert figures["period_days"] == 2.0
    assert figures["mpc_plans"] == 2 * 24  # hourly re-plans
    assert figures["mpc_plan_status"] == {"optimal": 48}
    assert figures["forecast_origins"] == 2  # 27 and 28 May, each forecasting 48 h


def test_costs_are_consistent(figures: dict[str, Any]) -> None:
    base, perfect = figures["cost_baseline"], figures["cost_perfect"]
    assert perfect < figures["cost_rule_based"] < base
    assert perfect <= figures["cost_mpc"] + 1e-6
    assert figures["captured_share"] == pytest.approx((base - figures["cost_mpc"]) / (base - perfect))
    strategies = figures["strategies"]
    assert strategies["no_battery"]["battery_throughput_kwh"] == 0
    for name in ("rule_based", "mpc", "perfect"):
        assert 0.1 - 1e-9 <= strategies[name]["final_soc"] <= 0.9 + 1e-9


def test_no_battery_cost_is_the_measured_grid_exchange(figures: dict[str, Any]) -> None:
    """Recompute the reference cost by hand from the gap-filled measurements and hourly prices."""
    from shems_optimizer.app.backtest.inputs import fill_actuals
    from shems_optimizer.core.forecast import Location, read_price_csv, read_series_csv

    frame, _ = read_series_csv(SERIES, Location(48.83, 6.86))
    actual = fill_actuals(frame, 48)
    period = (frame.index >= pd.Timestamp("2024-05-26T22:00Z")) & (
        frame.index < pd.Timestamp("2024-05-28T22:00Z")
    )
    net = (actual.load_w - actual.pv_w)[period]
    hourly = read_price_csv(PRICES)
    spot = hourly.reindex(frame.index[period].floor("h")).to_numpy()
    cost = float((np.maximum(net, 0) * (spot + 0.2) - np.maximum(-net, 0) * spot).sum() * 0.5 / 1000)
    assert figures["strategies"]["no_battery"]["energy_cost_eur"] == pytest.approx(cost, abs=1e-9)
    assert figures["strategies"]["no_battery"]["import_kwh"] == pytest.approx(np.maximum(net, 0).sum() / 2000)


def test_cli_prints_json_and_refuses_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    lines = SERIES.read_text().splitlines()
    short.write_text("\n".join(lines[: 2 * 48 + 1]) + "\n")
    code = main(["backtest", "--series", str(short), "--site", str(SITE), "--prices", str(PRICES), "--json"])
    assert code == 1
    assert "at least 3 days" in capsys.readouterr().err

    kilowatts = tmp_path / "kw.csv"
    frame = pd.read_csv(SERIES)
    frame["load_no_var_loads_W"] = frame["load_no_var_loads_W"] / 1000
    frame.to_csv(kilowatts, index=False)
    assert main(["backtest", "--series", str(kilowatts), "--site", str(SITE), "--prices", str(PRICES)]) == 1
    assert "look like kW" in capsys.readouterr().err

    code = main(
        [
            "backtest",
            "--series",
            str(SERIES),
            "--site",
            str(SITE),
            "--prices",
            str(PRICES),
            "--start",
            "2024-05-28",
            "--end",
            "2024-05-29",
            "--forecast-only",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["forecast_origins"] == 1 and "cost_mpc" not in out


def test_setpoint_execution_is_available_for_comparison() -> None:
    options = BacktestOptions(
        start=date(2024, 5, 28), end=date(2024, 5, 29), retrain_days=14, execution="setpoints", replan_hours=4
    )
    figures = run_backtest(SERIES, SITE, PRICES, options)
    assert figures["execution"] == "setpoints" and figures["mpc_plans"] == 6
