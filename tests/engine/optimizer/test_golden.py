"""Golden scenarios (golden/*.json) replayed end to end: site dict + series -> plan -> expectations.

Each file says in ``description`` why its expected numbers are right; they were checked by hand
(e.g. the DST night: 12 kWh in the two 02:00 hours at 0.10 plus 0.5 kW of load over 9 h).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shems_optimizer.core.model import Series
from shems_optimizer.core.model.loading import site_from_dict
from shems_optimizer.core.plan import Plan
from shems_optimizer.core.planner import Options, optimize
from shems_optimizer.core.timegrid import TimeGrid

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.json"))


def golden_plan(path: Path, options: Options | None = None) -> tuple[Plan, dict[str, Any]]:
    """The plan of the golden scenario at ``path`` and what it should be."""
    doc: dict[str, Any] = json.loads(path.read_text())
    columns = dict(doc["series"])
    stamps = [datetime.fromisoformat(t) for t in columns.pop("timestamp")]
    step = stamps[-1] - stamps[-2]
    grid = TimeGrid.from_boundaries([*stamps, stamps[-1] + step], doc["site"].get("timezone", "UTC"))
    site = site_from_dict(doc["site"], reference=grid.start)
    return optimize(site, Series.from_samples(grid, stamps, columns), options), doc["expect"]


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_scenario(path: Path) -> None:
    plan, expect = golden_plan(path)
    assert plan.status == expect["status"]
    assert plan.cost.total == pytest.approx(expect["cost_eur"], abs=1e-5)
    assert plan.baseline is not None
    assert plan.baseline.cost.total == pytest.approx(expect["baseline_cost_eur"], abs=1e-5)
    runs = {a.name: [[r.start.isoformat(), r.end.isoformat()] for r in a.runs] for a in plan.appliances}
    assert runs == expect["appliance_runs"]
    assert {b.name: pytest.approx(b.soc[-1], abs=1e-5) for b in plan.batteries} == expect["battery_final_soc"]
    assert {e.name: pytest.approx(e.soc[-1], abs=1e-5) for e in plan.evs} == expect["ev_final_soc"]
    assert [g.explanation for g in plan.unmet_goals] == expect["unmet_goals"]


def test_there_are_golden_scenarios() -> None:
    assert len(GOLDEN) >= 3
