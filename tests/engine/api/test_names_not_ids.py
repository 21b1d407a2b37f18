"""People see the names they gave: a site whose assets have opaque ids (as the integration makes them)
and goals the plan cannot meet; every text of the plan names the asset by name and shows no id."""

from __future__ import annotations

from typing import Any

import aiohttp

from shems_optimizer.wiring.testing import RunningService
from tests.support.service import plan_for

from .conftest import auth

BATTERY_ID = "01M8SSM6Q3K9ZP4V7T2XWYB5HD"
EV_ID = "01M8SSM7A1B2C3D4E5F6G7H8JK"
DRYER_ID = "01M8SSM8ZZYYXXWWVVTTSSRRQQ"
IDS = (BATTERY_ID, EV_ID, DRYER_ID)
SITE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "price": {"kind": "fixed", "import_per_kwh": 0.30, "export_per_kwh": 0.08},
    "grid": {"max_import_w": 2500},
    "batteries": [
        {
            "id": BATTERY_ID,
            "name": "Cellar battery",
            "capacity_kwh": 60,
            "max_charge_w": 500,
            "max_discharge_w": 500,
            "initial_soc_pct": 10,
            "mode": "charge",  # full by the end of the plan: 500 W cannot fill 60 kWh
        }
    ],
    "evs": [
        {
            "id": EV_ID,
            "name": "Family car",
            "battery_kwh": 80,
            "max_charge_w": 1400,
            "soc_pct": 10,
            "target_soc_pct": 100,
            "departure": "07:00",
        }
    ],
    "appliances": [{"id": DRYER_ID, "name": "Tumble dryer", "power_w": 6000, "duration_min": 120}],
}


def _no_id(text: str) -> None:
    for asset_id in IDS:
        assert asset_id[:8] not in text, f"an internal id in {text!r}"


async def test_unmet_goals_and_notes_name_assets_as_people_named_them(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    plan = await plan_for(http, svc.url, SITE, headers=auth())
    goals = {g["asset_id"]: g for g in plan["unmet_goals"]}
    assert set(goals) >= set(IDS), plan["unmet_goals"]
    names = {BATTERY_ID: "Cellar battery", EV_ID: "Family car", DRYER_ID: "Tumble dryer"}
    for asset_id, name in names.items():
        goal = goals[asset_id]
        assert goal["asset_name"] == name
        assert goal["message"].startswith(name), goal["message"]
        _no_id(goal["message"])
    assert plan["message"] and "Cellar battery" in plan["message"] and "Family car" in plan["message"]
    _no_id(plan["message"])
    assert [(a["id"], a["name"]) for a in plan["appliances"]] == [(DRYER_ID, "Tumble dryer")]
    assert [(e["id"], e["name"]) for e in plan["evs"]] == [(EV_ID, "Family car")]
