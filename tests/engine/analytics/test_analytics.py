"""Energy flows, cost and reports of a small home, with numbers checkable by hand.

Home in Paris, 2 March 2026 (UTC+1), one-minute samples:

* 00:00-01:00 — grid imports 2 kW, heat pump 2 kW                   -> consumption 2 kWh, import 2 kWh
* 12:00-13:00 — PV 3 kW, grid exports 1 kW, heat pump 2 kW            -> consumption 2 kWh, export 1 kWh
* 18:00-19:00 — battery discharges 1 kW, grid imports 1 kW, heat pump 2 kW -> consumption 2 kWh, import 1 kWh

Day: consumption 6 kWh, import 3, export 1, PV 3; self-sufficiency 1 - 3/6 = 0.5, self-consumption
1 - 1/3. Time-of-use 0.15 (22:00-06:00) / 0.30, feed-in 0.10: import cost 2 x 0.15 + 1 x 0.30 = 0.60,
export revenue 0.10, net 0.50. Peak import: 2 kW in the quarter hour from 00:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shems_optimizer.app.records.models import Device, DeviceType, Granularity, Home, Reading, StoreError
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.app.reporting import consumption_points, cost, energy_flows, report
from shems_optimizer.core.model.tariff import (
    Fixed,
    Market,
    Period,
    PriceSeries,
    Tariff,
    TariffError,
    TimeOfUse,
)

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2026, 3, 2, tzinfo=PARIS)
NEXT = datetime(2026, 3, 3, tzinfo=PARIS)
TOU = Tariff(
    buy=TimeOfUse((Period(time(22), 0.15, end=time(6)), Period(time(6), 0.30, end=time(22)))),
    sell=Fixed(0.10),
    timezone="Europe/Paris",
)


def _hour(device: str, local_hour: int, watts: float) -> list[Reading]:
    start = DAY.replace(hour=local_hour).astimezone(UTC)
    return [Reading(device, start + timedelta(minutes=m), watts) for m in range(60)]


@pytest.fixture
def home(repo: Repository) -> Repository:
    repo.upsert_home(Home("h", "Home", "Europe/Paris"))
    for device_id, kind in (
        ("grid", DeviceType.GRID),
        ("pv", DeviceType.PV),
        ("bat", DeviceType.BATTERY),
        ("hp", DeviceType.HEAT_PUMP),
    ):
        repo.upsert_device(Device(device_id, "h", kind, device_id))
    repo.write_readings(
        _hour("grid", 0, 2000)
        + _hour("hp", 0, 2000)
        + _hour("pv", 12, -3000)
        + _hour("grid", 12, -1000)
        + _hour("hp", 12, 2000)
        + _hour("bat", 18, -1000)
        + _hour("grid", 18, 1000)
        + _hour("hp", 18, 2000)
    )
    return repo


def test_daily_energy_flows(home: Repository) -> None:
    (day,) = energy_flows(home, "h", DAY, NEXT, Granularity.DAY)
    assert day.start == DAY and day.end == NEXT
    assert (day.consumption_kwh, day.grid_import_kwh, day.grid_export_kwh, day.pv_kwh) == pytest.approx(
        (6, 3, 1, 3)
    )
    assert (day.battery_discharge_kwh, day.battery_charge_kwh) == pytest.approx((1, 0))


def test_hourly_cost_with_time_of_use(home: Repository) -> None:
    hours = cost(home, "h", DAY, NEXT, Granularity.HOUR, TOU)
    by_hour = {b.start.astimezone(PARIS).hour: b for b in hours}
    assert set(by_hour) == {0, 12, 18}
    assert by_hour[0].import_cost == pytest.approx(0.30)  # 2 kWh off-peak
    assert by_hour[12].export_revenue == pytest.approx(0.10)
    assert by_hour[18].import_cost == pytest.approx(0.30)  # 1 kWh peak
    (day,) = cost(home, "h", DAY, NEXT, Granularity.DAY, TOU)
    assert (day.import_cost, day.export_revenue, day.net_cost) == pytest.approx((0.60, 0.10, 0.50))


def test_daily_report(home: Repository) -> None:
    (day,) = report(home, "h", DAY, NEXT, Granularity.DAY, TOU)
    assert day.consumption_kwh == pytest.approx(6)
    assert day.net_cost == pytest.approx(0.50)
    assert day.peak_import_kw == pytest.approx(2.0)
    assert day.peak_at == DAY.astimezone(UTC)
    assert day.self_sufficiency == pytest.approx(0.5)
    assert day.self_consumption == pytest.approx(2 / 3)
    (week,) = report(home, "h", DAY, NEXT, Granularity.WEEK, Tariff(Fixed(0.25)))
    assert week.start == DAY  # Monday 2 March
    assert week.import_cost == pytest.approx(0.75) and week.export_revenue == 0


def test_market_prices_and_missing_price(home: Repository) -> None:
    prices = {DAY.astimezone(UTC) + timedelta(hours=h): 0.1 * (h % 3) for h in range(24)}
    tariff = Tariff(Market(fees=0.05, series=PriceSeries(tuple(sorted(prices.items())))))
    (day,) = cost(home, "h", DAY, NEXT, Granularity.DAY, tariff)
    # hour 0: 2 kWh x (0.0 + 0.05); hour 18: 1 kWh x (0.0 + 0.05) since 18 % 3 == 0
    assert day.import_cost == pytest.approx(0.15)
    short = Tariff(Market(series=PriceSeries(((DAY.astimezone(UTC), 0.2),))))
    with pytest.raises(TariffError, match=r"no market price for 2026-03-02T11:00:00\+00:00"):
        cost(home, "h", DAY, NEXT, Granularity.DAY, short)


def test_consumption_points_raw_and_bucketed(home: Repository) -> None:
    raw = consumption_points(home, ["hp"], DAY, DAY + timedelta(hours=1), Granularity.RAW)
    assert len(raw) == 60 and raw[0].power_w == 2000 and raw[0].energy_kwh is None
    hourly = consumption_points(home, ["hp"], DAY, NEXT, Granularity.HOUR, timezone="Europe/Paris")
    assert [(p.start.astimezone(PARIS).hour, round(p.energy_kwh or 0, 9)) for p in hourly] == [
        (0, 2.0),
        (12, 2.0),
        (18, 2.0),
    ]


@pytest.mark.parametrize("granularity", [Granularity.MIN15, Granularity.HOUR])
def test_autumn_dst_night_keeps_both_two_oclock_hours(repo: Repository, granularity: Granularity) -> None:
    """25 October 2026: Paris goes 02:00 CEST -> 02:00 CET; four real hours from 01:00 to 04:00."""
    repo.upsert_home(Home("h", "Home", "Europe/Paris"))
    repo.upsert_device(Device("grid", "h", DeviceType.GRID, "grid"))
    start = datetime(2026, 10, 24, 23, tzinfo=UTC)  # 01:00 CEST
    # 1, 2, 3 and 4 kW in the four successive real hours.
    repo.write_readings(
        [Reading("grid", start + timedelta(minutes=m), 1000.0 * (1 + m // 60)) for m in range(240)]
    )
    flows = energy_flows(repo, "h", start, start + timedelta(hours=4), granularity)
    per_hour = [0.0] * 4
    for flow in flows:
        per_hour[int((flow.start.astimezone(UTC) - start) / timedelta(hours=1))] += flow.grid_import_kwh or 0
    assert per_hour == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert len(flows) == (16 if granularity is Granularity.MIN15 else 4)
    hours = cost(
        repo, "h", start, start + timedelta(hours=4), Granularity.HOUR, Tariff(Fixed(0.5), Fixed(0.0))
    )
    assert [h.start.astimezone(PARIS).strftime("%H%z") for h in hours] == [
        "01+0200",
        "02+0200",
        "02+0100",
        "03+0100",
    ]
    assert [h.import_cost for h in hours] == pytest.approx([0.5, 1.0, 1.5, 2.0])


def test_home_without_grid_meter_sums_its_consumers(repo: Repository) -> None:
    repo.upsert_home(Home("flat", "Flat", "UTC"))
    repo.upsert_device(Device("fridge", "flat", DeviceType.APPLIANCE, "fridge"))
    start = datetime(2026, 3, 2, tzinfo=UTC)
    repo.write_readings([Reading("fridge", start + timedelta(minutes=m), 120.0) for m in range(0, 1440, 5)])
    (day,) = report(repo, "flat", start, start + timedelta(days=1), Granularity.DAY, Tariff(Fixed(0.2)))
    assert day.consumption_kwh == pytest.approx(2.88)
    assert day.grid_import_kwh is None and day.self_sufficiency is None
    assert day.import_cost == pytest.approx(2.88 * 0.2)
    assert day.peak_import_kw == pytest.approx(0.12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: report(r, "h", DAY, NEXT, Granularity.HOUR, TOU), "day, week or month"),
        (lambda r: report(r, "nobody", DAY, NEXT, Granularity.DAY, TOU), "unknown home 'nobody'"),
        (lambda r: energy_flows(r, "h", DAY, NEXT, Granularity.RAW), "bucket granularity"),
    ],
)
def test_bad_requests_are_explained(home: Repository, call: object, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        call(home)  # type: ignore[operator]


def test_tariff_validation() -> None:
    with pytest.raises(TariffError, match="no length"):
        TimeOfUse((Period(time(6), 0.1, end=time(6)),))
    with pytest.raises(TariffError, match="unknown time zone"):
        Tariff(Fixed(0.2), timezone="Europe/Atlantis")
    weekend = Tariff(
        TimeOfUse(
            (
                Period(time(0), 0.0, end=time(0, 1), days=frozenset({"weekend"})),
                Period(time(0, 1), 0.2, end=time(0), days=frozenset({"weekend"})),
                Period(time(0), 0.2, days=frozenset({"weekday"})),
            )
        )
    )
    assert weekend.buy_price(datetime(2026, 3, 7, 0, 0, 30, tzinfo=UTC)) == 0.0  # Saturday
    assert weekend.buy_price(datetime(2026, 3, 9, 0, 0, 30, tzinfo=UTC)) == 0.2  # Monday
