"""The CLI backtest on a user's own files: country codes, currency, the perfect-foresight reference,
leftover energy and local timestamps (the short bundled period, real planner)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from shems_optimizer.app.backtest.inputs import load_site
from shems_optimizer.app.backtest.run import BacktestOptions, run_backtest
from shems_optimizer.core.forecast import read_series_csv
from shems_optimizer.core.model.errors import ConfigError

from .test_backtest import PRICES, SERIES, SITE

SHORT = BacktestOptions(start=date(2024, 5, 27), end=date(2024, 5, 28), retrain_days=14)


def site_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def bundled(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SITE.read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = value
    return data


@pytest.mark.parametrize("where", ["backtest", "top"])
def test_an_unquoted_norway_is_refused_by_name(tmp_path: Path, where: str) -> None:
    text = SITE.read_text(encoding="utf-8").replace("  country: FR\n", "")
    text = (
        text.replace("backtest:\n", "backtest:\n  country: NO\n")
        if where == "backtest"
        else f"country: NO\n{text}"
    )
    with pytest.raises(ConfigError, match=r'read as the boolean false.*country: "NO"') as caught:
        load_site(site_file(tmp_path, text))
    assert caught.value.field == ("backtest.country" if where == "backtest" else "country")
    quoted = load_site(site_file(tmp_path, text.replace("country: NO", 'country: "NO"')))
    assert quoted.country == "NO" and quoted.tariff.country == "NO"
    with pytest.raises(ConfigError, match="no public-holiday calendar") as caught:
        load_site(site_file(tmp_path, text.replace("country: NO", "country: XQ")))


def test_currency_comes_from_the_site(tmp_path: Path) -> None:
    path = site_file(tmp_path, yaml.safe_dump(bundled(currency="CHF")))
    figures = run_backtest(
        SERIES, path, PRICES, BacktestOptions(**{**SHORT.__dict__, "forecast_only": False})
    )
    assert figures["currency"] == "CHF"
    assert figures["cost_note"].startswith("CHF over the period")
    assert figures["tariff"] == {"buy": "1 x spot + 0.2 CHF/kWh", "sell": "1 x spot + 0 CHF/kWh"}
    assert "EUR" not in repr(figures)


def test_the_perfect_reference_ignores_the_mpc_horizon() -> None:
    long = run_backtest(SERIES, SITE, PRICES, SHORT)
    short = run_backtest(SERIES, SITE, PRICES, BacktestOptions(**{**SHORT.__dict__, "horizon_hours": 6.0}))
    assert short["horizon_hours"] == 6.0 and short["perfect_horizon_hours"] == 48.0
    assert short["cost_perfect"] == pytest.approx(long["cost_perfect"], abs=1e-9)
    assert short["cost_mpc"] != pytest.approx(long["cost_mpc"], abs=1e-6)  # the MPC did change


def test_leftover_energy_is_valued_by_default(tmp_path: Path) -> None:
    data = bundled()
    del data["batteries"][0]["terminal_value_eur_per_kwh"]
    figures = run_backtest(SERIES, site_file(tmp_path, yaml.safe_dump(data)), PRICES, SHORT)
    frame, _ = read_series_csv(SERIES)
    spot = pd.read_csv(PRICES)
    hourly = pd.Series(
        spot["price_eur_per_mwh"].to_numpy() / 1000, index=pd.to_datetime(spot.iloc[:, 0], utc=True)
    )
    period = (frame.index >= pd.Timestamp("2024-05-26T22:00Z")) & (
        frame.index < pd.Timestamp("2024-05-27T22:00Z")
    )
    mean_buy = float(np.mean(hourly.reindex(frame.index[period].floor("h")).to_numpy() + 0.2))
    assert figures["leftover_value_per_kwh"] == pytest.approx(mean_buy * 0.95)
    assert "mean import price x discharge efficiency" in figures["cost_note"]
    strategies = figures["strategies"]
    for name in ("rule_based", "mpc", "perfect"):
        stored = (strategies[name]["final_soc"] - 0.5) * 10 * figures["leftover_value_per_kwh"]
        assert strategies[name]["net_cost_eur"] == pytest.approx(strategies[name]["energy_cost_eur"] - stored)
    assert figures["captured_share"] <= 1.0
    assert figures["captured_share_rule_based"] <= 1.0


def test_local_timestamps_with_a_zone_name(tmp_path: Path) -> None:
    frame = pd.read_csv(SERIES)
    column = frame.columns[0]
    utc = pd.to_datetime(frame[column], utc=True)
    local = utc.dt.tz_convert("Europe/Paris").dt.strftime("%Y-%m-%dT%H:%M:%S") + "[Europe/Paris]"
    path = tmp_path / "local.csv"
    frame.assign(**{column: local}).to_csv(path, index=False)
    given, _ = read_series_csv(SERIES)
    read, _ = read_series_csv(path)
    pd.testing.assert_frame_equal(read, given)
    figures = run_backtest(path, SITE, PRICES, SHORT)
    assert figures["cost_mpc"] == pytest.approx(run_backtest(SERIES, SITE, PRICES, SHORT)["cost_mpc"])
