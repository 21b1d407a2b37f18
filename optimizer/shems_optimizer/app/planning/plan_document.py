"""The plan document served by the API, made from the optimizer's result.

Shape (agreed with the integration): per step the prices, PV, base load, grid import/export and per
asset ``power_w`` (battery: + discharge, − charge; EV, appliance, thermal: consumption) and
``soc_pct`` / ``temp_c``; appliance runs; EV projections; costs and savings; unmet goals in words.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shems_optimizer.core.plan import Plan

from .cheapest import PriceStep, cheapest_windows

# The solver's statuses, in the document's words.
STATUS = {"optimal": "optimal", "feasible": "feasible", "time_limit": "feasible", "failed": "failed"}


def _w(kw: float) -> float:
    return round(kw * 1000.0, 1)


def plan_document(
    plan: Plan,
    doc: Mapping[str, Any],
    created_at: datetime,
    notes: list[str],
    prices_updated_at: datetime | None,
) -> dict[str, Any]:
    grid = plan.grid
    starts, ends = grid.starts, grid.ends
    power = plan.power
    hours = [float(h) for h in grid.hours]
    step_cost = [
        (power.import_kw[i] * power.buy_eur_per_kwh[i] - power.export_kw[i] * power.sell_eur_per_kwh[i])
        * hours[i]
        for i in range(len(starts))
    ]
    baseline_cost = baseline_step_costs(plan)
    steps: list[dict[str, Any]] = []
    for i, start in enumerate(starts):
        assets: dict[str, dict[str, Any]] = {}
        for b in plan.batteries:
            assets[b.name] = {
                "power_w": _w(b.discharge_kw[i] - b.charge_kw[i]),
                "soc_pct": round(b.soc[i] * 100, 2),
            }
        for e in plan.evs:
            assets[e.name] = {"power_w": _w(e.charge_kw[i]), "soc_pct": round(e.soc[i] * 100, 2)}
        for a in plan.appliances:
            assets[a.name] = {"power_w": _w(a.power_kw[i])}
        for t in plan.thermal:
            assets[t.name] = {"power_w": _w(t.power_kw[i]), "temp_c": round(t.temperature_c[i], 2)}
        steps.append(
            {
                "start": start.isoformat(),
                "end": ends[i].isoformat(),
                "import_price": power.buy_eur_per_kwh[i],
                "export_price": power.sell_eur_per_kwh[i],
                "pv_w": _w(power.pv_forecast_kw[i]),
                "load_w": _w(power.load_kw[i]),
                "grid_import_w": _w(power.import_kw[i]),
                "grid_export_w": _w(power.export_kw[i]),
                "assets": assets,
                # Energy cost of the step as planned, and without optimisation (for savings).
                "cost": round(step_cost[i], 6),
                "baseline_cost": None if baseline_cost is None else round(baseline_cost[i], 6),
            }
        )
    horizon_24h = starts[0] + timedelta(hours=24)
    tz = ZoneInfo(str(doc.get("timezone", "UTC")))
    today = created_at.astimezone(tz).date()
    evs_by_id = {e["id"]: e for e in doc.get("evs", [])}
    names = asset_names(doc)
    ev_out = []
    for e in plan.evs:
        ev_doc = evs_by_id.get(e.name, {})
        ev_out.append(
            {
                "id": e.name,
                "name": names.get(e.name, e.name),
                "departure": _departure_iso(ev_doc, created_at, tz),
                "projected_soc_pct": round(e.soc[-1] * 100, 2) if e.soc else None,
                "target_soc_pct": ev_doc.get("target_soc_pct"),
            }
        )
    return {
        "id": uuid.uuid4().hex,
        "created_at": created_at.isoformat(),
        "status": STATUS.get(plan.solver.status, "failed"),
        "message": "; ".join(notes + list(plan.notes)) or None,
        "step_minutes": round(hours[0] * 60, 3) if hours else None,
        "currency": doc.get("currency", "EUR"),
        "horizon_start": starts[0].isoformat(),
        "horizon_end": ends[-1].isoformat(),
        "steps": steps,
        "appliances": [
            {
                "id": a.name,
                "name": names.get(a.name, a.name),
                "planned_start": a.runs[0].start.isoformat() if a.runs else None,
                "planned_end": a.runs[-1].end.isoformat() if a.runs else None,
                "energy_kwh": round(a.energy_kwh, 3),
            }
            for a in plan.appliances
        ],
        "evs": ev_out,
        "cost_total": round(plan.cost.total, 4),
        "baseline_cost": None if plan.baseline is None else round(plan.baseline.cost.total, 4),
        "savings": None if plan.savings_eur is None else round(plan.savings_eur, 4),
        "cost_next_24h": round(sum(c for s, c in zip(starts, step_cost, strict=True) if s < horizon_24h), 4),
        "cost_next_7d": round(sum(step_cost), 4) if ends[-1] - starts[0] >= timedelta(days=7) else None,
        "cheapest_windows": cheapest_windows(
            [PriceStep(a, b, float(p)) for a, b, p in zip(starts, ends, power.buy_eur_per_kwh, strict=True)],
            tz,
        ),
        "cost_today": round(
            sum(c for s, c in zip(starts, step_cost, strict=True) if s.astimezone(tz).date() == today), 4
        ),
        "unmet_goals": [
            {
                "asset_id": g.asset,
                "asset_name": names.get(g.asset, g.asset),
                "goal": g.goal,
                "wanted": g.wanted,
                "achieved": g.achieved,
                "unit": g.unit,
                "message": g.explanation,
            }
            for g in plan.unmet_goals
        ],
        "solver": {
            "status": plan.solver.status,
            "build_s": plan.solver.build_s,
            "solve_s": plan.solver.solve_s,
        },
        "prices_updated_at": prices_updated_at.isoformat() if prices_updated_at else None,
    }


def asset_names(doc: Mapping[str, Any]) -> dict[str, str]:
    """Each asset's id → the name people gave it in the site document (the grid's parts by role)."""
    names = {"house": "House", "pv": "Solar"}
    for kind in ("batteries", "evs", "appliances", "thermal_loads"):
        for asset in doc.get(kind, []):
            names[str(asset["id"])] = str(asset.get("name") or asset["id"])
    return names


def baseline_step_costs(plan: Plan) -> list[float] | None:
    """Energy cost per step of the no-optimisation baseline (None when the run made no baseline)."""
    baseline = plan.baseline
    if baseline is None:
        return None
    power, hours = plan.power, plan.grid.hours
    return [
        (baseline.import_kw[i] * power.buy_eur_per_kwh[i] - baseline.export_kw[i] * power.sell_eur_per_kwh[i])
        * float(hours[i])
        for i in range(plan.grid.steps)
    ]


def _departure_iso(ev_doc: Mapping[str, Any], now: datetime, tz: ZoneInfo) -> str | None:
    from shems_optimizer.app.site.engine_site import next_local

    departure = ev_doc.get("departure")
    return next_local(now, departure, tz).isoformat() if departure else None
