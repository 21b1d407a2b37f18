"""What a home enters reaches the plan as meant: the EV charger's electrics and plug state, the
battery's round-trip efficiency and wear cost, and the grid limits assumed when none are given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shems_optimizer.app.planning.engine_planner import EnginePlanner, horizon
from shems_optimizer.app.site.engine_site import LiveValues, build_site
from shems_optimizer.app.site.ev_charger import charger_range_w, plugged_from_state
from shems_optimizer.app.site.site_document import validate_site_document
from shems_optimizer.core.planner import Options
from shems_optimizer.runtime.errors import InputRejected
from tests.support.sites import battery, tou

NOW = datetime(2026, 6, 10, 9, 7, tzinfo=UTC)
CAR = {
    "id": "car",
    "name": "Car",
    "battery_kwh": 60,
    "phases": 3,
    "voltage_v": 230,
    "min_current_a": 6,
    "max_current_a": 16,
    "plugged_entity": "sensor.wallbox_status",
    "departure": "07:00",
}


def site(**parts: Any) -> dict[str, Any]:
    return validate_site_document({"timezone": "Europe/Berlin", **parts})


@pytest.mark.parametrize(
    ("state", "plugged"),
    [
        ("on", True),  # a plug binary sensor
        ("off", False),
        ("Charging", True),  # Wallbox
        ("Locked, car connected", True),
        ("Disconnected", False),
        ("Ready", False),
        ("vehicle loads", True),  # go-eCharger
        ("Charger ready, no vehicle", False),
        ("wait_car", True),
        ("SuspendedEV", True),  # OCPP connector status
        ("Preparing", True),
        ("Available", False),
        ("awaiting_start", True),  # Easee
        ("disconnected", False),
        ("connected_finished", True),  # Zaptec
        ("unavailable", None),
        ("unknown", None),
        ("Error", None),
    ],
)
def test_plug_states_of_binary_sensors_and_wallbox_integrations(state: str, plugged: bool | None) -> None:
    assert plugged_from_state(state) is plugged


def test_the_charger_range_comes_from_its_electrics() -> None:
    doc = site(evs=[CAR])["evs"][0]
    assert charger_range_w(doc) == (6 * 230 * 3, 16 * 230 * 3)
    one_phase = site(evs=[CAR | {"phases": 1, "max_current_a": 32, "max_charge_w": 7000}])["evs"][0]
    assert charger_range_w(one_phase) == (6 * 230, 7000)  # the narrower maximum wins
    model, _ = build_site(site(evs=[CAR]), NOW)
    assert (model.evs[0].min_charge_kw, model.evs[0].max_charge_kw) == (4.14, 11.04)


@pytest.mark.parametrize(
    ("ev", "field"),
    [
        ({k: v for k, v in CAR.items() if k != "phases"}, "evs[0].phases"),
        (
            {k: v for k, v in CAR.items() if k not in ("phases", "min_current_a", "max_current_a")},
            "evs[0].max_charge_w",
        ),
        (CAR | {"min_current_a": 20}, "evs[0].min_current_a"),
        (CAR | {"max_charge_w": 3000}, "evs[0].min_charge_w"),  # 4140 W minimum above a 3000 W maximum
        (CAR | {"phases": 4}, "evs[0].phases"),
    ],
)
def test_a_charger_that_cannot_work_is_refused_naming_the_field(ev: dict[str, Any], field: str) -> None:
    with pytest.raises(InputRejected) as err:
        site(evs=[ev])
    assert err.value.field == field


def test_the_plug_sensor_alone_says_whether_the_car_is_there() -> None:
    doc = site(evs=[CAR | {"charger_entity": "switch.wallbox"}])
    unplugged, notes = build_site(doc, NOW, LiveValues(ev_plugged={"car": False}))
    assert unplugged.evs[0].plugged_in is False
    assert not [n for n in notes if "plug" in n]
    unknown, notes = build_site(doc, NOW, LiveValues())
    assert unknown.evs[0].plugged_in is True
    assert "EV Car: plug state unknown (sensor.wallbox_status says neither" in " ".join(notes)
    _, notes = build_site(site(evs=[CAR | {"plugged_entity": None}]), NOW)
    assert "EV Car: no plugged-in sensor chosen, assumed plugged in" in notes


def test_grid_limits_not_given_are_assumed_and_said() -> None:
    doc = site()
    model, notes = build_site(doc, NOW)
    assert (model.grid.import_limit_kw, model.grid.export_limit_kw) == (17.0, 17.0)
    assert any(
        n.startswith("grid: no maximum import given, 17 kW assumed") and "maximum grid import power" in n
        for n in notes
    )
    assert any(n.startswith("grid: no maximum export given, 17 kW assumed") for n in notes)
    model, notes = build_site(site(grid={"max_import_w": 11000, "max_export_w": 0}), NOW)
    assert (model.grid.import_limit_kw, model.grid.export_limit_kw) == (11.0, 0.0)
    assert not [n for n in notes if n.startswith("grid:")]
    plan = EnginePlanner().make_plan(doc, NOW, None).document
    assert "grid: no maximum import given, 17 kW assumed" in plan["message"]


def test_round_trip_efficiency_is_the_round_trip_of_the_plan() -> None:
    # Cheap nights, dear days, a flat house load: the battery charges at night and discharges by day.
    doc = site(
        grid={"max_import_w": 11000, "max_export_w": 0},
        price={
            "kind": "tou",
            "periods": [
                {"start": "00:00", "import_per_kwh": 0.05},
                {"start": "06:00", "import_per_kwh": 0.60},
            ],
        },
        batteries=[
            {
                "id": "bat",
                "name": "Battery",
                "capacity_kwh": 10,
                "max_charge_w": 3000,
                "max_discharge_w": 3000,
                "round_trip_efficiency": 0.90,
                "initial_soc_pct": 50,
            }
        ],
    )
    plan = EnginePlanner().make_plan(doc, NOW, None).document
    stored_in = grid_in = stored_out = delivered = 0.0
    soc = 0.50 * 10
    for step in plan["steps"]:
        hours = (datetime.fromisoformat(step["end"]) - datetime.fromisoformat(step["start"])) / timedelta(
            hours=1
        )
        bat = step["assets"]["bat"]
        change = bat["soc_pct"] / 100 * 10 - soc
        soc = bat["soc_pct"] / 100 * 10
        if bat["power_w"] < -1:  # charging
            grid_in += -bat["power_w"] / 1000 * hours
            stored_in += change
        elif bat["power_w"] > 1:
            delivered += bat["power_w"] / 1000 * hours
            stored_out += -change
    assert grid_in > 2 and delivered > 2, "the plan must both charge and discharge"
    assert (stored_in / grid_in) * (delivered / stored_out) == pytest.approx(0.90, abs=0.001)
    with pytest.raises(InputRejected) as err:
        site(batteries=[doc["batteries"][0] | {"efficiency": 0.95}])
    assert err.value.field == "batteries[0].efficiency"


@pytest.mark.parametrize(("wear_cost", "cycles"), [(0.0, True), (0.05, False)])
def test_the_battery_cycles_only_where_prices_differ_by_more_than_its_wear(
    wear_cost: float, cycles: bool
) -> None:
    # Nights at 0.20, days at 0.26: 0.06 apart, enough for a 90 % battery without wear (0.20 / 0.9 =
    # 0.222 a kWh delivered), not with 0.05 of wear on charge and again on discharge (about 0.33).
    cell = battery(round_trip_efficiency=0.90, initial_soc_pct=10, min_soc_pct=10)
    doc = site(
        grid={"max_import_w": 11000, "max_export_w": 0},
        price=tou(("00:00", 0.20), ("06:00", 0.26)),
        batteries=[cell | {"wear_cost_per_kwh": wear_cost}],
    )
    assert doc["batteries"][0]["wear_cost_per_kwh"] == wear_cost
    plan = EnginePlanner().make_plan(doc, NOW, None).document
    charged_kwh = sum(
        -step["assets"]["bat"]["power_w"]
        / 1000
        * (datetime.fromisoformat(step["end"]) - datetime.fromisoformat(step["start"]))
        / timedelta(hours=1)
        for step in plan["steps"]
        if step["assets"]["bat"]["power_w"] < -1
    )
    assert (charged_kwh > 5) is cycles, f"charged {charged_kwh:.2f} kWh with wear {wear_cost}"
    assert site(batteries=[cell])["batteries"][0]["wear_cost_per_kwh"] == 0.0
    with pytest.raises(InputRejected) as err:
        site(batteries=[cell | {"wear_cost_per_kwh": -0.01}])
    assert err.value.field == "batteries[0].wear_cost_per_kwh"


def test_a_replan_keeps_the_ev_schedule_of_the_plan_in_force() -> None:
    """At one flat price every quarter hour is as good as another: only the plan in force decides.

    Re-planned a quarter hour later with nothing new, the car charges in the same quarter hours as
    before (the stability term against the typed plan in force), instead of jumping between optima.
    """
    doc = site(
        grid={"max_import_w": 17000, "max_export_w": 0},
        price={"kind": "fixed", "import_per_kwh": 0.30},
        evs=[CAR | {"soc_pct": 50, "target_soc_pct": 80, "plugged_entity": None}],
    )
    planner = EnginePlanner()
    first = planner.make_plan(doc, NOW, None).document
    moved = 0
    previous = first
    for quarter in range(1, 9):
        later = planner.make_plan(doc, NOW + timedelta(minutes=15 * quarter), previous).document

        def charging(plan: dict[str, Any]) -> dict[str, float]:
            return {s["start"]: s["assets"]["car"]["power_w"] for s in plan["steps"] if "car" in s["assets"]}

        before, after = charging(previous), charging(later)
        overlap = [t for t in after if t in before and t > later["steps"][0]["start"]]
        moved += sum(abs(before[t] - after[t]) > 1.0 for t in overlap)
        previous = later
    assert moved == 0


def test_the_service_planner_plans_through_the_solver_its_options_name() -> None:
    # The add-on's `solver` option reaches the planner: the same site planned through PuLP's CBC costs
    # what HiGHS's plan costs (within the MIP gap both stop at).
    doc = site(
        price={
            "kind": "tou",
            "periods": [
                {"start": "00:00", "import_per_kwh": 0.10},
                {"start": "07:00", "import_per_kwh": 0.40},
            ],
        },
        evs=[CAR | {"soc_pct": 40, "target_soc_pct": 80, "plugged_entity": None}],
    )
    grid = horizon(NOW, "UTC")
    by_highs, _, _ = EnginePlanner().solve(doc, grid, NOW)
    by_cbc, _, _ = EnginePlanner(options=Options(solver="pulp:cbc")).solve(doc, grid, NOW)
    assert by_highs.solver.detail == "Optimal"
    assert by_cbc.solver.detail.split(":")[0] in ("COIN_CMD", "PULP_CBC_CMD")
    assert by_cbc.status == "optimal" and by_cbc.solver.num_integer == by_highs.solver.num_integer
    assert by_cbc.cost.total == pytest.approx(by_highs.cost.total, rel=2e-4, abs=2e-4)
