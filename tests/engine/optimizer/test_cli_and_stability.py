"""Command line (optimize, demo, bench) on bundled data, and plan stability between runs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from shems_optimizer.cli import main
from shems_optimizer.core.model import Battery, Grid, Site
from shems_optimizer.core.model.assets import ProfileAppliance
from shems_optimizer.core.planner import Options, optimize
from shems_optimizer.data import data_path

from .helpers import flat_series

DEMO_SITE = str(data_path("demo", "site.yaml"))
DEMO_SERIES = str(data_path("demo", "series.csv"))


def test_optimize_writes_the_plan_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.json"
    assert main(["optimize", DEMO_SITE, "--series", DEMO_SERIES, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Plan for demo-home" in printed and "saves" in printed
    plan = json.loads(out.read_text())
    assert plan["status"] == "optimal"
    assert len(plan["timestamps"]) == 192
    assert plan["timestamps"][0] == "2024-04-30T00:00:00+02:00"
    assert {a["name"] for a in plan["appliances"]} == {"dishwasher", "washing_machine", "water_heater"}
    assert len(plan["batteries"][0]["soc"]) == 192
    assert plan["savings_eur"] > 0


def test_optimize_plans_through_the_solver_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_highs, by_cbc = tmp_path / "highs.json", tmp_path / "cbc.json"
    assert main(["optimize", DEMO_SITE, "--series", DEMO_SERIES, "--output", str(by_highs)]) == 0
    args = ["optimize", DEMO_SITE, "--series", DEMO_SERIES, "--output", str(by_cbc), "--solver", "pulp:cbc"]
    assert main(args) == 0
    highs, cbc = json.loads(by_highs.read_text()), json.loads(by_cbc.read_text())
    assert cbc["solver"]["detail"].split(":")[0] in ("COIN_CMD", "PULP_CBC_CMD")
    assert cbc["cost"]["total_eur"] == pytest.approx(highs["cost"]["total_eur"], rel=2e-4, abs=2e-4)
    capsys.readouterr()
    assert main(["optimize", DEMO_SITE, "--series", DEMO_SERIES, "--solver", "pulp:gurobi"]) == 2
    err = capsys.readouterr().err
    assert "solver 'pulp:gurobi': PuLP finds no working GUROBI" in err and "Traceback" not in err


def test_optimize_json_through_pulps_highs_is_json_alone() -> None:
    # A fresh process: the first HiGHS instance of a process prints a banner on stdout unless made
    # quietly, and PuLP's HiGHS interface makes one of its own.
    args = ["optimize", DEMO_SITE, "--series", DEMO_SERIES, "--json", "--solver", "pulp:highs"]
    done = subprocess.run(
        [sys.executable, "-m", "shems_optimizer", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout)["solver"]["detail"].startswith("HiGHS: ")


def test_optimize_reports_bad_input_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "batteries:\n"
        "  - {name: b, capacity_kwh: 10, max_charge_kw: 3000, max_discharge_kw: 5, initial_soc: 0.5}\n"
    )
    assert main(["optimize", str(site), "--series", DEMO_SERIES]) == 2
    err = capsys.readouterr().err
    assert "batteries[0].max_charge_kw" in err and "Traceback" not in err


def test_demo_prints_a_summary_and_draws_the_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "plan.png"
    assert main(["demo", "--chart", str(chart)]) == 0
    printed = capsys.readouterr().out
    for expected in (
        "dishwasher:",
        "washing_machine:",
        "water_heater:",
        "battery battery:",
        "EV car:",
        "saves",
    ):
        assert expected in printed
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.stat().st_size > 20_000


def test_the_demo_without_matplotlib_says_how_to_get_the_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as on an install without the plot extra
    assert main(["demo", "--chart", str(tmp_path / "plan.png")]) == 1
    captured = capsys.readouterr()
    assert "saves" in captured.out  # the plan and its summary come first
    assert "install the plot extra (pip install 'shems-optimizer[plot]') or pass --no-chart" in captured.err
    assert not (tmp_path / "plan.png").exists()
    assert main(["demo", "--no-chart"]) == 0


def test_bench_prints_the_required_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "optimizer", "--json", "--repeats", "1", "--case", "emhass_case_a"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    for field in ("case", "steps", "status", "cost", "build_s", "solve_s", "peak_rss_mb"):
        assert field in row
    assert row["steps"] == 48 and row["status"] == "optimal"
    assert row["cost"] == pytest.approx(4.0644, rel=1e-4)


def test_previous_plan_keeps_a_near_tie_from_flapping() -> None:
    # Two equally cheap hours for a 5 kWh top-up: with the previous plan charging in hour 1, a new
    # plan whose prices now favour hour 2 by a hair keeps hour 1 instead of jumping.
    battery = Battery(
        "b",
        10,
        5,
        5,
        initial_soc=0.0,
        soc_min=0.0,
        charge_efficiency=1,
        discharge_efficiency=1,
        terminal_soc=0.5,
    )
    site = Site(grid=Grid(20, 20), batteries=(battery,))
    first = optimize(site, flat_series(3, buy=[0.5, 0.2, 0.3]))
    assert first.battery("b").charge_kw == pytest.approx((0, 5, 0))
    shifted = flat_series(3, buy=[0.5, 0.2001, 0.2])
    jumpy = optimize(site, shifted)
    steady = optimize(site, shifted, Options(previous_plan=first, stability_eur_per_kwh=0.01))
    assert jumpy.battery("b").charge_kw == pytest.approx((0, 0, 5))
    assert steady.battery("b").charge_kw == pytest.approx((0, 5, 0))
    assert steady.cost.stability_eur == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("hour_2_price", "starts_at_hour"),
    [
        (0.199, 1),  # 0.1 cent/kWh cheaper later: not worth moving a start people were shown
        (0.15, 2),  # 5 cent/kWh cheaper: worth it (over the 3 cent/kWh threshold)
    ],
)
def test_a_planned_appliance_start_moves_only_for_a_real_saving(
    hour_2_price: float, starts_at_hour: int
) -> None:
    washer = ProfileAppliance("washer", (2.0,), profile_step=timedelta(hours=1))
    site = Site(grid=Grid(20, 20), appliances=(washer,))
    first = optimize(site, flat_series(4, buy=[0.5, 0.2, 0.3, 0.5]))
    assert first.appliance("washer").start == first.starts[1]
    again = flat_series(4, buy=[0.5, 0.2, hour_2_price, 0.5])
    assert optimize(site, again).appliance("washer").start == first.starts[2]  # without the memory
    steady = optimize(site, again, Options(previous_plan=first))
    assert steady.appliance("washer").start == first.starts[starts_at_hour]
    assert steady.cost.stability_eur == pytest.approx(0.06 if starts_at_hour == 2 else 0.0)


def test_a_time_limited_solve_is_not_reported_optimal() -> None:
    from shems_bench.optimizer import full_site
    from shems_optimizer.core.planner import PlanningError

    scenario = full_site(7)
    try:
        plan = optimize(scenario.site, scenario.series, Options(time_limit_s=0.05, compute_baseline=False))
    except PlanningError as err:
        assert "no plan within 0.05 s" in str(err)
    else:
        assert plan.status in ("time_limit", "feasible")
        assert plan.solver.mip_gap is not None and plan.solver.mip_gap > 0


def test_plan_as_a_table_has_one_row_per_step_and_tz_aware_index() -> None:
    battery = Battery("b", 10, 5, 5, initial_soc=0.5)
    plan = optimize(
        Site(grid=Grid(20, 20), batteries=(battery,)), flat_series(4, load=1.0, buy=[0.1, 0.5, 0.1, 0.5])
    )
    frame = plan.to_frame()
    assert len(frame) == 4
    assert frame.index.tz is not None
    assert list(frame["b.soc"]) == pytest.approx(list(plan.battery("b").soc))
    balance = (
        frame["grid.import_kw"] - frame["grid.export_kw"] + frame["b.discharge_kw"] - frame["b.charge_kw"]
    )
    assert list(balance + frame["pv.used_kw"]) == pytest.approx(list(frame["load.base_kw"]))
