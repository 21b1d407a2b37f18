"""Both store back-ends behind one fixture: every test taking ``repo`` runs against SQLite and TimescaleDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from shems_optimizer.adapters.store import (
    SqliteConfig,
    SqliteRepository,
    TimescaleConfig,
    TimescaleRepository,
)
from shems_optimizer.app.records.models import Device, DeviceType, Home
from shems_optimizer.app.records.repository import Repository

_TABLES = (
    "homes, devices, energy_consumption, energy_15min, energy_hourly, energy_daily, rollup_invalidations, "
    "device_commands, command_errors, forecasts, forecast_points, plans, schedules"
)


@pytest.fixture(scope="module")
def timescale_repo(timescale_dsn: str) -> Iterator[TimescaleRepository]:
    repo = TimescaleRepository.open(TimescaleConfig(timescale_dsn, max_connections=4))
    yield repo
    repo.close()


@pytest.fixture(params=["sqlite", "timescaledb"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repository]:
    if request.param == "sqlite":
        sqlite_repo = SqliteRepository.open(SqliteConfig(tmp_path / "store.sqlite3"))
        yield sqlite_repo
        sqlite_repo.close()
        return
    timescale: TimescaleRepository = request.getfixturevalue("timescale_repo")
    dsn: str = request.getfixturevalue("timescale_dsn")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {_TABLES} CASCADE")
    yield timescale


@pytest.fixture
def home_with_devices(repo: Repository) -> Repository:
    """A home in Paris with a grid meter, a PV inverter and a heat pump."""
    repo.upsert_home(Home("home-1", "Maison", "Europe/Paris"))
    repo.upsert_device(Device("grid", "home-1", DeviceType.GRID, "Grid meter", ("shems/grid/telemetry",)))
    repo.upsert_device(Device("pv", "home-1", DeviceType.PV, "PV inverter"))
    repo.upsert_device(Device("hp", "home-1", DeviceType.HEAT_PUMP, "Heat pump", firmware="1.2.3"))
    return repo
