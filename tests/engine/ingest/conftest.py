"""Store fixtures for ingestion tests: both back-ends, fresh per test."""

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
from shems_optimizer.app.records.repository import Repository

_TABLES = (
    "homes, devices, energy_consumption, energy_15min, energy_hourly, energy_daily, rollup_invalidations, "
    "device_commands, command_errors, forecasts, forecast_points, plans, schedules"
)


@pytest.fixture(scope="module")
def timescale_repo(timescale_dsn: str) -> Iterator[TimescaleRepository]:
    repo = TimescaleRepository.open(TimescaleConfig(timescale_dsn, max_connections=4, pool_timeout_s=1.0))
    yield repo
    repo.close()


@pytest.fixture
def timescale(timescale_repo: TimescaleRepository, timescale_dsn: str) -> TimescaleRepository:
    with psycopg.connect(timescale_dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {_TABLES} CASCADE")
    return timescale_repo


@pytest.fixture(params=["sqlite", "timescaledb"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repository]:
    if request.param == "sqlite":
        sqlite_repo = SqliteRepository.open(SqliteConfig(tmp_path / "store.sqlite3"))
        yield sqlite_repo
        sqlite_repo.close()
        return
    yield request.getfixturevalue("timescale")
