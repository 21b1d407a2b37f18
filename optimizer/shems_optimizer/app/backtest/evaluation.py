"""Rolling-origin forecast evaluation: train on the past only, forecast the next 48 h each day.

Scores are pooled over every (origin, lead) pair where the actual value and every compared forecast
exist, so a model and its baseline are always judged on exactly the same steps. Skill is
``1 - MAE_model / MAE_baseline`` (positive = better than the baseline).

Baselines: for load, persistence (the same local time on the last measured day) and weekly
persistence; for PV, the provider's forecast in the series; for prices, "tomorrow = today" (the same
local hour on the last published day), scored only on steps past the published prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shems_optimizer.app.backtest.suite import ForecastSuite
from shems_optimizer.core.forecast.features import same_local_time_positions, take


@dataclass
class _Pool:
    errors: dict[str, list[np.ndarray]] = field(default_factory=dict)
    inside: list[np.ndarray] = field(default_factory=list)

    def add(self, name: str, err: np.ndarray) -> None:
        self.errors.setdefault(name, []).append(err)

    def mae(self, name: str) -> float | None:
        parts = self.errors.get(name)
        if not parts:
            return None
        values = np.concatenate(parts)
        return float(np.abs(values).mean()) if len(values) else None

    def rmse(self, name: str) -> float | None:
        parts = self.errors.get(name)
        if not parts:
            return None
        values = np.concatenate(parts)
        return float(np.sqrt(np.mean(values**2))) if len(values) else None

    def count(self, name: str) -> int:
        return int(sum(len(p) for p in self.errors.get(name, [])))

    def coverage(self) -> float | None:
        if not self.inside:
            return None
        values = np.concatenate(self.inside)
        return float(values.mean()) if len(values) else None


def _skill(model: float | None, baseline: float | None) -> float | None:
    if model is None or baseline is None or baseline == 0:
        return None
    return 1.0 - model / baseline


def evaluate(suite: ForecastSuite, origins: list[int], steps: int) -> dict[str, float | int | None]:
    ctx = suite.ctx
    spd = ctx.grid.steps_per_day
    load, pv, provider = _Pool(), _Pool(), _Pool()
    price = _Pool()
    for origin in origins:
        fc = suite.forecast(origin, steps)
        targets = origin + np.arange(steps)
        lead = np.arange(steps)
        before = np.full(steps, origin)
        actual = ctx.load[targets]
        persistence = take(ctx.load, same_local_time_positions(ctx.grid, targets, lead // spd + 1), before)
        weekly = take(
            ctx.load, same_local_time_positions(ctx.grid, targets, 7 * (lead // (7 * spd) + 1)), before
        )
        ok = np.isfinite(actual) & np.isfinite(persistence) & np.isfinite(weekly)
        load.add("model", fc.load.p50[ok] - actual[ok])
        load.add("persistence", persistence[ok] - actual[ok])
        load.add("weekly", weekly[ok] - actual[ok])
        load.inside.append((actual[ok] >= fc.load.p10[ok]) & (actual[ok] <= fc.load.p90[ok]))
        if fc.pv is not None and ctx.pv is not None:
            pv_actual = ctx.pv[targets]
            ok_pv = np.isfinite(pv_actual)
            if ctx.pv_provider is not None:
                prov = ctx.pv_provider[targets]
                ok_pv &= np.isfinite(prov)
                pv.add("provider", np.maximum(prov[ok_pv], 0.0) - pv_actual[ok_pv])
            pv.add("model", fc.pv.p50[ok_pv] - pv_actual[ok_pv])
            pv.inside.append((pv_actual[ok_pv] >= fc.pv.p10[ok_pv]) & (pv_actual[ok_pv] <= fc.pv.p90[ok_pv]))
        if fc.spot is not None and suite.spot_on_grid is not None:
            known_until = suite.publication.known_until(ctx.grid.index[origin])
            known_pos = int(np.searchsorted(ctx.grid.index.asi8, known_until.value))
            real = suite.spot_on_grid[targets]
            ahead = targets >= known_pos
            back = (targets - known_pos) // spd + 1
            naive = take(
                suite.spot_on_grid,
                same_local_time_positions(ctx.grid, targets, back),
                np.full(steps, known_pos),
            )
            ok_p = ahead & np.isfinite(real) & np.isfinite(naive)
            price.add("model", fc.spot.p50[ok_p] - real[ok_p])
            price.add("naive", naive[ok_p] - real[ok_p])
            price.inside.append((real[ok_p] >= fc.spot.p10[ok_p]) & (real[ok_p] <= fc.spot.p90[ok_p]))
    out: dict[str, float | int | None] = {
        "forecast_origins": len(origins),
        "forecast_horizon_steps": steps,
        "load_mae_w": load.mae("model"),
        "load_rmse_w": load.rmse("model"),
        "load_persistence_mae_w": load.mae("persistence"),
        "load_weekly_persistence_mae_w": load.mae("weekly"),
        "load_skill_vs_persistence": _skill(load.mae("model"), load.mae("persistence")),
        "load_skill_vs_weekly_persistence": _skill(load.mae("model"), load.mae("weekly")),
        "load_p10_p90_coverage": load.coverage(),
        "load_scored_steps": load.count("model"),
    }
    best_naive = min(v for v in (load.mae("persistence"), load.mae("weekly"), np.inf) if v is not None)
    out["load_skill_vs_best_naive"] = _skill(
        load.mae("model"), best_naive if np.isfinite(best_naive) else None
    )
    if pv.errors:
        out.update(
            {
                "pv_mae_w": pv.mae("model"),
                "pv_rmse_w": pv.rmse("model"),
                "pv_provider_mae_w": pv.mae("provider"),
                "pv_provider_rmse_w": pv.rmse("provider"),
                "pv_skill_vs_provider": _skill(pv.mae("model"), pv.mae("provider")),
                "pv_p10_p90_coverage": pv.coverage(),
                "pv_scored_steps": pv.count("model"),
            }
        )
    if price.errors:
        out.update(
            {
                "price_mae_eur_per_kwh": price.mae("model"),
                "price_rmse_eur_per_kwh": price.rmse("model"),
                "price_naive_mae_eur_per_kwh": price.mae("naive"),
                "price_skill_vs_tomorrow_equals_today": _skill(price.mae("model"), price.mae("naive")),
                "price_p10_p90_coverage": price.coverage(),
                "price_scored_steps": price.count("model"),
            }
        )
    del provider
    return out
