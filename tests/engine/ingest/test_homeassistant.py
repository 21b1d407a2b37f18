"""Home Assistant ingestion against a stand-in for HA's WebSocket API, into both store back-ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shems_optimizer.adapters.homeassistant.client import HomeAssistantAuthError, HomeAssistantClient
from shems_optimizer.adapters.ingest.homeassistant import EntityBinding, HomeAssistantIngester
from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline
from shems_optimizer.adapters.ingest.units import Quantity
from shems_optimizer.app.config import HomeAssistantConfig
from shems_optimizer.app.records.models import Granularity
from shems_optimizer.app.records.repository import ConsumptionQuery, Repository

from .fake_homeassistant import FakeHomeAssistant
from .helpers import register

SAMPLE_S = 0.1


async def _until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Harness:
    ha: FakeHomeAssistant
    url: str
    pipeline: TelemetryPipeline


def client(harness: Harness, token: str) -> HomeAssistantClient:
    """The engine's one client, pointed at the stand-in (its WebSocket is at /api/websocket)."""
    base = harness.url.replace("ws://", "http://").removesuffix("/api/websocket")
    return HomeAssistantClient(HomeAssistantConfig(base, token))


@pytest.fixture
async def harness(repo: Repository, tmp_path: Path) -> AsyncIterator[Harness]:
    register(repo, "heat_pump", "grid")
    ha = FakeHomeAssistant()
    url = await ha.start()
    pipeline = TelemetryPipeline(repo, PipelineConfig(spool_dir=tmp_path / "spool", flush_interval_s=0.02))
    pipeline.start()
    try:
        yield Harness(ha, url, pipeline)
    finally:
        pipeline.stop()
        await ha.close()


@contextlib.asynccontextmanager
async def _running(ingester: HomeAssistantIngester) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(ingester.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


ENTITIES = [
    EntityBinding("sensor.heat_pump_power", "heat_pump"),
    EntityBinding("sensor.heat_pump_energy", "heat_pump"),
    EntityBinding("sensor.grid_power", "grid", Quantity.POWER),
]


async def test_live_states_are_sampled_converted_and_gaps_kept(
    harness: Harness, repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    ha = harness.ha
    await ha.set_state("sensor.heat_pump_power", "1.5", "kW")
    await ha.set_state("sensor.heat_pump_energy", "1234.5", "kWh")
    await ha.set_state("sensor.grid_power", "-800", "W")
    ingester = HomeAssistantIngester(
        client(harness, "good-token"),
        ENTITIES,
        harness.pipeline,
        sample_interval_s=SAMPLE_S,
    )
    started = datetime.now(UTC)
    async with _running(ingester):
        await asyncio.wait_for(ingester.connected.wait(), 5)
        await _until(lambda: harness.pipeline.counts().readings_stored >= 4, 5, "samples stored")
        latest = repo.latest_readings(["heat_pump", "grid"])
        assert (latest["heat_pump"].power_w, latest["heat_pump"].energy_kwh) == (1500.0, 1234.5)
        assert latest["grid"].power_w == -800.0
        # What it holds is what the next sample stores, in the stored unit; nothing for others.
        assert ingester.held_value("sensor.heat_pump_power") == 1500.0
        assert ingester.held_value("sensor.not_bound") is None
        # A state change arrives through the trigger subscription; Wh is converted to kWh.
        await ha.set_state("sensor.heat_pump_energy", "1235000", "Wh")
        await _until(
            lambda: repo.latest_readings(["heat_pump"])["heat_pump"].energy_kwh == 1235.0, 5, "new energy"
        )
        # Unavailable: the hold ends, nothing is sampled for that value until a number returns.
        with caplog.at_level(logging.INFO, logger="shems_optimizer.adapters.ingest"):
            await ha.set_state("sensor.grid_power", "unavailable", None)
            await _until(lambda: ingester.counts.gaps == 1, 5, "gap counted")
        assert ingester.held_value("sensor.grid_power") is None
        gap_from = datetime.now(UTC) + timedelta(seconds=SAMPLE_S)
        await asyncio.sleep(SAMPLE_S * 4)
        gap_to = datetime.now(UTC)
        assert repo.readings("grid", gap_from, gap_to) == []
        await ha.set_state("sensor.grid_power", "250", "W")
        await _until(lambda: repo.latest_readings(["grid"])["grid"].power_w == 250.0, 5, "grid back")
    assert any(
        "sensor.grid_power is 'unavailable': recorded as a gap" in r.getMessage() for r in caplog.records
    )
    samples = repo.readings("heat_pump", started, datetime.now(UTC))
    assert all(
        r.time.timestamp() * 10 % 1 < 1e-6 or abs(r.time.timestamp() * 10 % 1 - 1) < 1e-6 for r in samples
    )
    assert ingester.counts.state_changes >= 3


async def test_unknown_unit_is_rejected_naming_the_entity(
    harness: Harness, repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.ha.set_state("sensor.heat_pump_power", "3", "BTU/h")
    ingester = HomeAssistantIngester(
        client(harness, "good-token"),
        ENTITIES[:1],
        harness.pipeline,
        sample_interval_s=SAMPLE_S,
    )
    with caplog.at_level(logging.ERROR, logger="shems_optimizer.adapters.ingest"):
        async with _running(ingester):
            await asyncio.wait_for(ingester.connected.wait(), 5)
            await asyncio.sleep(SAMPLE_S * 3)
            assert repo.count_readings("heat_pump") == 0
            await harness.ha.set_state("sensor.heat_pump_power", "700", "W")
            await _until(lambda: repo.count_readings("heat_pump") > 0, 5, "readings after the unit is fixed")
    assert ingester.counts.unit_errors == 1
    assert any(
        "sensor.heat_pump_power: unknown unit 'BTU/h'" in r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR"
    )


async def test_bad_token_stops_with_a_clear_error(harness: Harness) -> None:
    ingester = HomeAssistantIngester(client(harness, "wrong"), ENTITIES, harness.pipeline)
    with pytest.raises(HomeAssistantAuthError, match="rejected the access token: Invalid access token"):
        await asyncio.wait_for(ingester.run(), 5)


async def test_statistics_backfill_on_first_start(harness: Harness, repo: Repository) -> None:
    """Two days of hourly statistics become history: power means and energy meter states."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(hours=48)
    hours = [first + timedelta(hours=h) for h in range(48)]
    harness.ha.statistics["sensor.heat_pump_power"] = [
        {
            "start": t.timestamp() * 1000,
            "end": (t + timedelta(hours=1)).timestamp() * 1000,
            "mean": 2.0 if h % 2 else 1.0,
            "min": 0.5,
            "max": 3.0,
        }
        for h, t in enumerate(hours)
    ]
    harness.ha.statistics_units["sensor.heat_pump_power"] = "kW"
    harness.ha.statistics["sensor.grid_power"] = []
    harness.ha.statistics["sensor.heat_pump_energy"] = [
        {
            "start": t.timestamp() * 1000,
            "end": (t + timedelta(hours=1)).timestamp() * 1000,
            "state": 1000.0 + 1.5 * (h + 1),
            "sum": 1.5 * (h + 1),
        }
        for h, t in enumerate(hours)
    ]
    harness.ha.statistics_units["sensor.heat_pump_energy"] = "kWh"
    await harness.ha.set_state("sensor.heat_pump_power", "1.0", "kW")
    ingester = HomeAssistantIngester(
        client(harness, "good-token"),
        ENTITIES,
        harness.pipeline,
        sample_interval_s=SAMPLE_S,
        backfill_days=7,
    )
    async with _running(ingester):
        await _until(lambda: ingester.counts.backfilled_readings == 48 * 4 + 48, 5, "backfill submitted")
        await _until(lambda: repo.count_readings("heat_pump", end=now) == 48 * 4 + 48, 5, "backfill stored")
    kinds = [m["type"] for m in harness.ha.received]
    assert kinds[:3] == ["get_states", "subscribe_trigger", "recorder/get_statistics_metadata"]
    assert "recorder/statistics_during_period" in kinds
    hourly = repo.consumption(ConsumptionQuery(first, now, Granularity.HOUR, ("heat_pump",)))
    assert [round(b.import_kwh, 9) for b in hourly] == [2.0 if h % 2 else 1.0 for h in range(48)]
    meter = repo.readings("heat_pump", first, now)
    assert [r.energy_kwh for r in meter if r.energy_kwh is not None][-1] == 1000.0 + 1.5 * 48


async def test_an_absent_home_assistant_is_retried_with_doubling_waits(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.ha.close()  # nothing listens there any more
    ingester = HomeAssistantIngester(client(harness, "good-token"), ENTITIES[2:], harness.pipeline)
    with caplog.at_level(logging.DEBUG, logger="shems_optimizer.adapters.ingest.homeassistant"):
        async with _running(ingester):
            lost = lambda: [r for r in caplog.records if "connection lost" in r.getMessage()]  # noqa: E731
            await _until(lambda: len(lost()) >= 3, 10, "three failed attempts")
    first, second, third = lost()[:3]
    assert first.getMessage().endswith("retrying in 1 s") and first.levelno == logging.WARNING
    assert second.getMessage().endswith("retrying in 2 s") and second.levelno == logging.DEBUG
    assert third.getMessage().endswith("retrying in 4 s")  # the outage is one warning, not one a try
    assert not ingester.connected.is_set()


async def test_reconnects_after_home_assistant_restarts(harness: Harness, repo: Repository) -> None:
    await harness.ha.set_state("sensor.grid_power", "100", "W")
    ingester = HomeAssistantIngester(
        client(harness, "good-token"),
        ENTITIES[2:],
        harness.pipeline,
        sample_interval_s=SAMPLE_S,
    )
    async with _running(ingester):
        await asyncio.wait_for(ingester.connected.wait(), 5)
        await harness.ha.drop_connections()
        await _until(
            lambda: ingester.counts.connections == 2 and ingester.connected.is_set(), 10, "reconnection"
        )
        await harness.ha.set_state("sensor.grid_power", "321", "W")
        await _until(
            lambda: repo.latest_readings(["grid"])["grid"].power_w == 321.0, 5, "state after reconnect"
        )
