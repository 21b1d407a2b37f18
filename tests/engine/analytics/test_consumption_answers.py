"""Kept consumption answers: served while fresh, served once more while one refresh runs, then new."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shems_optimizer.adapters.store.sqlite import SqliteConfig, SqliteRepository
from shems_optimizer.app.devices.devices import DeviceRegistry
from shems_optimizer.app.records.models import Device, DeviceType, Home, Reading
from shems_optimizer.app.reporting.analytics import CLOSED_TTL_S, ConsumptionAnalytics
from shems_optimizer.runtime.blocking import BlockingRunner

DAY = datetime(2026, 3, 10, tzinfo=UTC)  # long over: answers are kept CLOSED_TTL_S


class _Site:
    def get(self) -> dict[str, Any] | None:
        return {"timezone": "UTC"}

    def put(self, document: Any) -> dict[str, Any]:
        raise NotImplementedError


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqliteRepository]:
    store = SqliteRepository.open(SqliteConfig(tmp_path / "store.sqlite3"))
    store.upsert_home(Home(id="home", name="Home"))
    store.upsert_device(Device(id="fridge", home_id="home", type=DeviceType.LOAD, name="Fridge"))
    yield store
    store.close()


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
async def analytics(repo: SqliteRepository, clock: _Clock) -> AsyncIterator[ConsumptionAnalytics]:
    """The analytics of the home's registered devices, on the test's clock."""
    blocking = BlockingRunner()
    try:
        devices = DeviceRegistry(repo, blocking, "home")
        await devices.load()
        yield ConsumptionAnalytics(repo, blocking, "home", devices, _Site(), clock=clock)
    finally:
        blocking.shutdown()


async def _fridge_on_day(analytics: ConsumptionAnalytics) -> dict[str, Any]:
    """The fridge's consumption over DAY, hour by hour."""
    return await analytics.consumption(DAY, DAY + timedelta(days=1), "fridge", "hour")


def _constant_power(repo: SqliteRepository, watts: float, hours: range) -> None:
    """``watts`` during each hour in ``hours`` of DAY, as one reading per minute."""
    readings = [
        Reading("fridge", DAY + timedelta(hours=h, minutes=m), power_w=watts)
        for h in hours
        for m in range(60)
    ]
    repo.write_readings(readings)
    repo.refresh_aggregates(DAY, DAY + timedelta(days=1))


def _total_kwh(answer: dict[str, Any]) -> float:
    return round(sum(point["energy_kwh"] for point in answer["series"]), 3)


async def test_expired_answer_is_served_while_one_refresh_runs(
    repo: SqliteRepository, analytics: ConsumptionAnalytics, clock: _Clock
) -> None:
    _constant_power(repo, 1000.0, range(0, 2))  # 1 kW for two hours

    async def ask() -> dict[str, Any]:
        return await _fridge_on_day(analytics)

    first = await ask()
    assert _total_kwh(first) == pytest.approx(2.0, abs=0.05)
    _constant_power(repo, 1000.0, range(2, 4))  # two more hours arrive late

    clock.now += CLOSED_TTL_S - 1
    assert await ask() is first  # still fresh: the kept answer itself

    clock.now += 2  # expired: the old answer once more, while one refresh runs
    answers = await asyncio.gather(ask(), ask(), ask())
    assert all(answer is first for answer in answers)
    assert len(analytics._refreshes) == 1
    await asyncio.gather(*analytics._refreshes)

    refreshed = await ask()
    assert _total_kwh(refreshed) == pytest.approx(4.0, abs=0.05)

    clock.now += 3 * CLOSED_TTL_S  # far past expiry: never served stale, asked again at once
    _constant_power(repo, 1000.0, range(4, 5))
    assert _total_kwh(await ask()) == pytest.approx(5.0, abs=0.05)


async def test_a_failed_refresh_drops_the_answer(
    repo: SqliteRepository, analytics: ConsumptionAnalytics, clock: _Clock
) -> None:
    _constant_power(repo, 500.0, range(0, 2))
    first = await _fridge_on_day(analytics)
    assert _total_kwh(first) == pytest.approx(1.0, abs=0.05)
    clock.now += CLOSED_TTL_S + 1
    failing = RuntimeError("database went away")

    def broken(*_args: Any) -> Any:
        raise failing

    real = repo.consumption
    repo.consumption = broken  # type: ignore[method-assign]
    try:
        assert await _fridge_on_day(analytics) is first
        await asyncio.gather(*analytics._refreshes)
        with pytest.raises(RuntimeError, match="database went away"):
            await _fridge_on_day(analytics)
    finally:
        repo.consumption = real  # type: ignore[method-assign]
    assert _total_kwh(await _fridge_on_day(analytics)) == 1.0
