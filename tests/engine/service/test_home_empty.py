"""While the home is empty the heating plans to an eco band, and the hot water keeps its minimum.

The same home is planned twice at the same prices and the same time: once occupied, once with
``home_empty`` set in its site document.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shems_optimizer.app.planning.engine_planner import EnginePlanner
from shems_optimizer.app.site.engine_site import ECO_SETBACK_K, build_site
from shems_optimizer.app.site.site_document import validate_site_document
from shems_optimizer.runtime.errors import InputRejected
from tests.support.sites import tou

NOW = datetime(2026, 1, 14, 9, 7, tzinfo=UTC)
TOLERANCE_K = 0.05
HEAT_PUMP = {
    "id": "hp",
    "name": "Heat pump",
    "kind": "heat_pump",
    "power_w": 3000,
    "min_temp_c": 22,
    "max_temp_c": 25,
}
WATER_HEATER = {
    "id": "tank",
    "name": "Water heater",
    "kind": "water_heater",
    "power_w": 3000,
    "min_temp_c": 45,
    "max_temp_c": 60,
}


def home(**parts: Any) -> dict[str, Any]:
    return validate_site_document(
        {
            "timezone": "Europe/Berlin",
            "grid": {"max_import_w": 11000, "max_export_w": 0},
            "price": tou(("00:00", 0.20), ("17:00", 0.40), ("21:00", 0.20)),
            "thermal_loads": [HEAT_PUMP, WATER_HEATER],
            **parts,
        }
    )


def energy_kwh(plan: dict[str, Any], asset: str) -> float:
    return sum(
        step["assets"][asset]["power_w"]
        / 1000
        * ((datetime.fromisoformat(step["end"]) - datetime.fromisoformat(step["start"])) / timedelta(hours=1))
        for step in plan["steps"]
    )


def temperatures(plan: dict[str, Any], asset: str) -> list[float]:
    return [step["assets"][asset]["temp_c"] for step in plan["steps"]]


def test_an_occupied_home_is_the_default_and_the_flag_must_be_a_boolean() -> None:
    assert home()["home_empty"] is False
    with pytest.raises(InputRejected) as err:
        home(home_empty="yes")
    assert err.value.field == "home_empty"


def test_an_empty_home_heats_to_the_eco_band_and_keeps_the_hot_water() -> None:
    occupied, empty = home(), home(home_empty=True)

    # The comfort bands the planner gets: the heat pump's minimum 3 K lower, the tank's unchanged.
    at_home, _ = build_site(occupied, NOW)
    away, _ = build_site(empty, NOW)
    bands = {t.name: (t.min_temp_c, t.max_temp_c) for t in away.thermal}
    assert ECO_SETBACK_K == 3.0
    assert bands == {"hp": (19.0, 25.0), "tank": (45.0, 60.0)}
    assert {t.name: (t.min_temp_c, t.max_temp_c) for t in at_home.thermal} == {
        "hp": (22.0, 25.0),
        "tank": (45.0, 60.0),
    }

    plan_home = EnginePlanner().make_plan(occupied, NOW, None).document
    plan_away = EnginePlanner().make_plan(empty, NOW, None).document
    assert plan_home["status"] == plan_away["status"] == "optimal"

    # Occupied, the rooms never drop below 22 °C; empty, they are let cool below it, never below 19 °C.
    assert min(temperatures(plan_home, "hp")) >= 22 - TOLERANCE_K
    assert min(temperatures(plan_away, "hp")) < 22 - 1
    assert min(temperatures(plan_away, "hp")) >= 22 - ECO_SETBACK_K - TOLERANCE_K
    # …and the heat pump uses less energy for it.
    assert energy_kwh(plan_away, "hp") < energy_kwh(plan_home, "hp") - 0.5

    # The hot water stays hygienic either way.
    assert min(temperatures(plan_away, "tank")) >= 45 - TOLERANCE_K
    assert energy_kwh(plan_away, "tank") == pytest.approx(energy_kwh(plan_home, "tank"), abs=0.05)

    # The plan says why, in the names people gave.
    assert "the home is empty: eco comfort bands are used (Heat pump 19–25 °C)" in plan_away["message"]
    assert "Water heater: minimum temperature kept (hygiene)" in plan_away["message"]
    assert "home is empty" not in (plan_home["message"] or "")
