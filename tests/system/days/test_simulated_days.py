"""Two simulated days of a whole home with SHEMS in charge, against the same home without it.

Real parts: Home Assistant (harness) with the SHEMS integration and the shipped blueprints, the
add-on in-process reading Home Assistant over HTTP, one fake clock for both. Simulated: the devices
(grid meter, PV, battery inverter, wallbox and car, two machines behind smart plugs, the Nord Pool
sensor) driven by the entities the blueprints set, on real load, PV and DE-LU price data.
The outcomes are printed (pytest -s) so they can be quoted.
"""

from __future__ import annotations

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from shems_optimizer.service.testing import RunningService

from .data import load_prices, load_weather
from .devices import BatteryInverter
from .home import END, START, TARGET_SOC, TZ, Home, run_baseline
from .outcomes import appliance_runs, battery_step, flaps, stored_value_eur
from .shems_run import run_with_shems

START_SOC = BatteryInverter().soc


async def test_two_days_with_shems(
    sim_clock: FrozenDateTimeFactory, hass: HomeAssistant, addon: RunningService
) -> None:
    weather, prices = load_weather(START, END), load_prices(START, END)
    home = Home(weather, prices)
    record, _entry = await run_with_shems(hass, addon, sim_clock, home)
    baseline = run_baseline(Home(weather, prices))
    plans = record.plans
    report: list[str] = []
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    # The car: the feasible night reaches 80 % by 07:30; the late plug-in is explained by the plan.
    for (at, soc, kwh), (_, base_soc, base_kwh) in zip(home.departures, baseline.departures, strict=True):
        report.append(
            f"EV leaves {at.astimezone(TZ):%a %H:%M} at {soc:.1%} after {kwh:.1f} kWh"
            f" (without SHEMS: {base_soc:.1%}, {base_kwh:.1f} kWh)"
        )
    first_soc = home.departures[0][1]
    check(first_soc >= TARGET_SOC - 0.005, f"EV left at {first_soc:.1%} on the feasible night, not 80 %")
    late_plug = datetime(2024, 5, 23, 6, 45, tzinfo=TZ)
    late_plan = plans[int((late_plug - START).total_seconds() // 900)]
    reasons = [g["message"] for g in late_plan.get("unmet_goals", []) if g.get("asset_id") == "car"]
    report.append(f"late plug-in, the plan says: {reasons}")
    check(bool(reasons), "the plan after the late plug-in names no unmet EV goal")
    check(all("not plugged in" not in r for r in reasons), f"plugged in, yet the plan says otherwise: {reasons}")

    # The machines: each load runs once, starting when its plan said, finished by its deadline.
    runs = appliance_runs(home, plans, START)
    report.extend(run.line() for run in runs)
    loads = sum(1 for a in ("dishwasher loaded", "washing machine loaded") for _ in range(2))
    check(len(runs) == loads, f"{len(runs)} runs for {loads} loads")
    for run in runs:
        check(run.end <= run.deadline, f"{run.line()}: finished after its deadline")
        check(run.planned_start == run.start, f"{run.line()}: not started at its planned time")

    # The battery: within its bounds, doing what the plan says, near the plan's SOC.
    deviation, wrong_way = 0.0, []
    for plan, row in zip(plans, home.log, strict=True):
        now = datetime.fromisoformat(str(row["at"]))
        step = battery_step(plan, now, "battery")
        assert step is not None, f"the plan in force at {now} has no step for now"
        deviation = max(deviation, abs(float(row["soc"]) - step["soc_pct"] / 100))
        planned, actual = step["power_w"], float(row["battery_w"])
        if (planned < -50 and actual >= 0) or (planned > 50 and actual < 0):
            wrong_way.append(f"{now.astimezone(TZ):%a %H:%M} planned {planned:.0f} W, did {actual:.0f} W")
        check(0.095 <= float(row["soc"]) <= 1.0, f"battery SOC {row['soc']} out of bounds at {now}")
    report.append(f"battery: largest SOC gap to the plan {deviation:.1%}, steps against the plan {len(wrong_way)}")
    check(deviation <= 0.10, f"battery SOC strayed {deviation:.1%} from the plan")
    check(not wrong_way, f"battery went against the plan: {wrong_way[:5]}")

    # The bill: the grid meter at the prices, the battery's extra charge at the end valued at the mean price.
    mean_price = sum(prices.values()) / len(prices)
    cost = home.meter.cost_eur - stored_value_eur(home, START_SOC, mean_price)
    base_cost = baseline.meter.cost_eur - stored_value_eur(baseline, START_SOC, mean_price)
    report.append(
        f"cost over 48 h: {cost:.2f} EUR with SHEMS, {base_cost:.2f} EUR without"
        f" (meter {home.meter.cost_eur:.2f} / {baseline.meter.cost_eur:.2f} EUR, import"
        f" {home.meter.import_kwh:.1f} / {baseline.meter.import_kwh:.1f} kWh)"
    )
    check(cost < base_cost, "SHEMS cost more than no optimisation")

    # No flapping: a planned start that is still ahead rarely moves between consecutive plans.
    moves = {name: flaps(plans, asset, ev=name == "car") for name, asset in
             (("dishwasher", "dishwasher"), ("washing machine", "washer"), ("car", "car"))}
    report.append(f"planned starts moved between consecutive plans ({len(plans)} plans): {moves}")
    for name, count in moves.items():
        check(count <= len(plans) // 8, f"{name}'s planned start moved {count} times in {len(plans)} plans")

    print("\n" + "\n".join(report))
    assert not failures, "\n".join(failures)
