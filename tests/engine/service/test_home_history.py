"""Home load by energy balance and PV history from the site's meters: hand-checkable buckets.

Buckets are 15 minutes, so 1 kWh in a bucket is a mean of 4,000 W. Power buckets carry both
directions (store signs); counter buckets carry one direction (``import_kwh``, the increase).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shems_optimizer.adapters.ingest.site_meters import site_meters
from shems_optimizer.adapters.store import SqliteConfig, TimescaleConfig, open_store
from shems_optimizer.app.inputs.home_history import FlowMeter, HistoryLoader, derive_history
from shems_optimizer.app.records.models import ConsumptionBucket, Device, DeviceType, Home, Reading
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.runtime.blocking import BlockingRunner

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
Q = timedelta(minutes=15)


def at(k: int) -> datetime:
    return T0 + k * Q


def power(device: str, k: int, import_kwh: float, export_kwh: float = 0.0) -> ConsumptionBucket:
    avg = (import_kwh - export_kwh) * 4000
    return ConsumptionBucket(device, at(k), at(k + 1), 90, avg, avg, avg, import_kwh, export_kwh)


def counter(device: str, k: int, increase_kwh: float) -> ConsumptionBucket:
    return ConsumptionBucket(device, at(k), at(k + 1), 90, None, None, None, increase_kwh, 0.0)


GRID = FlowMeter("site-grid", "grid", "grid")
GRID_EXPORT = FlowMeter("site-grid-export", "grid", "grid", outward_counter=True)
PV = FlowMeter("site-pv-1", "pv", "site-pv-1")
BATTERY = FlowMeter("site-battery-b", "battery", "site-battery-b")
BATTERY_OUT = FlowMeter("site-battery-b-discharge", "battery", "site-battery-b", outward_counter=True)


@dataclass(frozen=True)
class Case:
    name: str
    meters: tuple[FlowMeter, ...]
    buckets: tuple[ConsumptionBucket, ...]
    load_w: tuple[tuple[int, float], ...]  # (bucket, W)
    pv_w: tuple[tuple[int, float], ...] = ()


CASES = [
    Case(
        "grid power only: import is the load, export counts against it",
        (GRID,),
        (power("site-grid", 0, 0.25), power("site-grid", 1, 0.5, 0.25)),
        ((0, 1000.0), (1, 1000.0)),
    ),
    Case(
        "grid + PV power: load = import − export + production",
        (GRID, PV),
        (
            power("site-grid", 0, 0.0, 0.5),  # exporting 2 kW
            power("site-pv-1", 0, 0.0, 0.75),  # producing 3 kW (sign ignored)
            power("site-grid", 1, 0.125),
            power("site-pv-1", 1, 0.0, 0.0),
        ),
        ((0, 1000.0), (1, 500.0)),
        ((0, 3000.0), (1, 0.0)),
    ),
    Case(
        "counters: export and discharge from their own devices; battery charge counts against the load",
        (GRID, GRID_EXPORT, PV, BATTERY, BATTERY_OUT),
        (
            counter("site-grid", 0, 9.0),  # first counter bucket: no previous reading, a gap
            counter("site-grid-export", 0, 9.0),
            counter("site-pv-1", 0, 9.0),
            counter("site-battery-b", 0, 9.0),
            counter("site-battery-b-discharge", 0, 9.0),
            counter("site-grid", 1, 0.1),
            counter("site-grid-export", 1, 0.2),
            counter("site-pv-1", 1, 0.6),
            counter("site-battery-b", 1, 0.25),  # charging 1 kW
            counter("site-battery-b-discharge", 1, 0.0),
        ),
        ((1, (0.1 - 0.2 + 0.6 + 0.0 - 0.25) * 4000),),  # 1,000 W
        ((1, 2400.0),),
    ),
    Case(
        "a named source without data makes the bucket a gap, not a zero",
        (GRID, PV),
        (power("site-grid", 0, 0.25), power("site-grid", 1, 0.25), power("site-pv-1", 1, 0.0, 0.25)),
        ((1, 2000.0),),
        ((1, 1000.0),),
    ),
    Case(
        "an hourly counter (HA statistics) is spread over the hour it covers",
        (GRID,),
        (counter("site-grid", 0, 0.0), counter("site-grid", 4, 2.0)),
        ((1, 2000.0), (2, 2000.0), (3, 2000.0), (4, 2000.0)),
    ),
    Case(
        "an increase over more than an hour of silence is a gap",
        (GRID,),
        (counter("site-grid", 0, 0.0), counter("site-grid", 6, 3.0), counter("site-grid", 7, 0.5)),
        ((7, 2000.0),),
    ),
    Case(
        "grid power in a bucket: the export counter is not needed there",
        (GRID, GRID_EXPORT),
        (power("site-grid", 0, 0.5, 0.0),),
        ((0, 2000.0),),
    ),
    Case(
        "battery discharge by power adds to the load; a negative balance is clamped to 0 W",
        (GRID, BATTERY),
        (
            power("site-grid", 0, 0.0, 0.25),
            power("site-battery-b", 0, 0.0, 0.5),  # discharging 2 kW, exporting 1 kW: home 1 kW
            power("site-grid", 1, 0.0, 0.5),
            power("site-battery-b", 1, 0.0, 0.25),  # −1 kW: meters out of step
        ),
        ((0, 1000.0), (1, 0.0)),
    ),
    Case(
        "no grid meter: no balance, PV history only",
        (PV,),
        (power("site-pv-1", 0, 0.0, 0.25),),
        (),
        ((0, 1000.0),),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_energy_balance(case: Case) -> None:
    by_device: dict[str, list[ConsumptionBucket]] = {}
    for bucket in case.buckets:
        by_device.setdefault(bucket.device_id, []).append(bucket)
    history = derive_history(case.meters, by_device)
    assert [(t, round(w, 6)) for t, w in history.load] == [(at(k), pytest.approx(w)) for k, w in case.load_w]
    assert [(t, round(w, 6)) for t, w in history.pv] == [(at(k), pytest.approx(w)) for k, w in case.pv_w]


def test_site_meters_give_stable_ids_and_flows() -> None:
    site = {
        "grid": {
            "power_entity": "sensor.grid_power",
            "import_energy_entity": "sensor.grid_in",
            "export_energy_entity": "sensor.grid_out",
        },
        "solar": [{"energy_entity": "sensor.pv_energy"}, {"power_entity": "sensor.pv2_power"}],
        "batteries": [{"id": "b", "name": "Battery", "energy_in_entity": "sensor.b_in"}],
        "meters": [{"entity_id": "sensor.dishwasher_power"}, {"entity_id": "sensor.grid_power"}],
    }
    meters = {m.device_id: m for m in site_meters(site)}
    assert sorted(meters) == [
        "site-battery-b",
        "site-grid",
        "site-grid-export",
        "site-meter-sensor.dishwasher_power",
        "site-pv-1",
        "site-pv-2",
    ]  # the grid sensor named again as a meter feeds only the grid; no discharge counter named
    flows = {d: FlowMeter.of(m.device("home")) for d, m in meters.items()}
    assert flows["site-grid-export"] == GRID_EXPORT
    assert flows["site-pv-2"] == FlowMeter("site-pv-2", "pv", "site-pv-2")
    assert flows["site-meter-sensor.dishwasher_power"] is None  # a sub-meter is not a flow of the home
    assert [b.entity_id for b in meters["site-grid"].entities] == ["sensor.grid_power", "sensor.grid_in"]


@pytest.fixture(params=["sqlite", "timescaledb"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Repository:
    if request.param == "sqlite":
        store = open_store(SqliteConfig(tmp_path / "h.sqlite3"))
    else:
        store = open_store(TimescaleConfig(request.getfixturevalue("timescale_dsn")))
    request.addfinalizer(store.close)
    return store


async def test_history_from_stored_counters_and_power(repo: Repository) -> None:
    """Ten-second samples as the ingester stores them: a grid import counter rising 1 kWh per hour
    (1 kW), PV power of 500 W, an export counter that stays put."""
    now = datetime.now(tz=UTC)
    end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start = end - timedelta(hours=2)
    site = {
        "grid": {"import_energy_entity": "sensor.grid_in", "export_energy_entity": "sensor.grid_out"},
        "solar": [{"power_entity": "sensor.pv_power"}],
    }
    repo.upsert_home(Home("home", "Home"))
    devices = [m.device("home") for m in site_meters(site)]
    for device in devices:
        repo.upsert_device(device)
    plug = Device("dishwasher-plug", "home", DeviceType.LOAD, "Plug")
    repo.upsert_device(plug)
    readings = []
    moment = start
    while moment < end:
        hours = (moment - start).total_seconds() / 3600
        readings.append(Reading("site-grid", moment, energy_kwh=100.0 + hours * 1.0))
        readings.append(Reading("site-grid-export", moment, energy_kwh=50.0))
        readings.append(Reading("site-pv-1", moment, power_w=500.0))
        moment += timedelta(seconds=10)
    await asyncio.to_thread(repo.write_readings, readings)
    await asyncio.to_thread(repo.refresh_aggregates, start, end)
    blocking = BlockingRunner()
    try:
        site_only = HistoryLoader(repo, blocking, lambda: devices)
        history = await site_only.history()
        with_consumer = HistoryLoader(repo, blocking, lambda: [*devices, plug])
        consumer_history = await with_consumer.history()
    finally:
        blocking.shutdown()
    # The first counter bucket is a gap; then 1 kW imported + 0.5 kW produced - 0 exported = 1,500 W.
    assert history.load_source == "energy balance"
    assert [t for t, _ in history.load] == [start + k * Q for k in range(1, 8)]
    assert all(w == pytest.approx(1500.0, rel=1e-3) for _, w in history.load)
    assert [t for t, _ in history.pv] == [start + k * Q for k in range(8)]
    assert all(w == pytest.approx(500.0) for _, w in history.pv)
    # A dedicated consumer device (it never reported): today's behaviour, no balance, no invented load.
    assert consumer_history.load == () and consumer_history.pv == history.pv
