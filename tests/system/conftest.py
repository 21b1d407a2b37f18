"""The whole home for the journey: one real Home Assistant and one add-on process per test module.

Home Assistant starts first (it is the slow part); once it answers it is onboarded as a new owner would
do it, a long-lived token is made for the add-on, and the add-on starts as a plain container with that
token, Mosquitto and its store. Logs, screenshots and the phase timings are kept in the artefacts
directory, named in the summary at the end of the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import MqttBroker
from tests.support.processes import ManagedProcess

from .addon import Addon, AddonSettings, start_addon
from .ha_client import HomeAssistantApi, Tokens, onboard
from .hass_process import HassProcess, start_hass

REPO = Path(__file__).resolve().parents[2]
HASS_START_S = 240.0  # a cold start on a loaded 2-core machine; usually 15-60 s
ADDON_START_S = 90.0


def artifacts_root() -> Path:
    """Where screenshots and logs are kept: ``$SHEMS_ARTIFACTS`` or the work tree's ignored cache."""
    return Path(os.environ.get("SHEMS_ARTIFACTS") or REPO / ".cache" / "artifacts")


@dataclass
class Journey:
    """Everything the journey's tests share, in the order they build it."""

    artifacts: Path
    hass: HassProcess
    tokens: Tokens
    addon: Addon | None = None
    addon_timescale: Addon | None = None  # the same add-on on TimescaleDB, for the shorter variant
    ha_token_for_addon: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    entry_id: str = ""
    subentries: dict[str, str] = field(default_factory=dict)  # asset name → subentry id
    notes: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - start, 1)


async def _bring_up(
    journey_dir: Path,
    workdir: Path,
    broker: MqttBroker,
    timings: dict[str, float],
    running: list[ManagedProcess],
    timescale_dsn: str,
) -> Journey:
    started = time.monotonic()
    hass = start_hass(workdir / "hass", journey_dir / "home-assistant.log", REPO)
    running.append(hass.process)
    async with aiohttp.ClientSession() as session:
        await hass.wait_ready(session, HASS_START_S)
        timings["hass start"] = round(time.monotonic() - started, 1)
        mark = time.monotonic()
        tokens = await onboard(session, hass.url)
        api = HomeAssistantApi(session, hass.url, tokens.access_token)
        ha_token = await api.ws("auth/long_lived_access_token", client_name="SHEMS add-on", lifespan=30)
        await api.close()
        timings["onboarding"] = round(time.monotonic() - mark, 1)
        journey = Journey(artifacts=journey_dir, hass=hass, tokens=tokens, ha_token_for_addon=ha_token)
        journey.timings = timings
        mark = time.monotonic()
        common = {
            "mqtt_host": broker.host,
            "mqtt_port": broker.port,
            "ha_url": hass.url,
            "ha_token": ha_token,
        }
        journey.addon = start_addon(
            AddonSettings(data_dir=workdir / "addon-data", log=journey_dir / "addon.log", **common), REPO
        )
        running.insert(0, journey.addon.process)
        journey.addon_timescale = start_addon(
            AddonSettings(
                data_dir=workdir / "addon-timescale-data",
                log=journey_dir / "addon-timescaledb.log",
                storage="timescaledb",
                dsn=timescale_dsn,
                topic_prefix="shems-tsdb",
                **common,
            ),
            REPO,
        )
        running.insert(0, journey.addon_timescale.process)
        await asyncio.gather(
            journey.addon.wait_ready(session, ADDON_START_S),
            journey.addon_timescale.wait_ready(session, ADDON_START_S),
        )
        timings["add-on start"] = round(time.monotonic() - mark, 1)
    return journey


KEPT_RUNS = 3


def _fresh_run_dir(root: Path) -> Path:
    """A directory of this run's own (runs of two checkouts or terminals never mix), the older runs'
    directories pruned to the last few."""
    root.mkdir(parents=True, exist_ok=True)
    for old in sorted(root.glob("journey-*"))[: -KEPT_RUNS + 1]:
        shutil.rmtree(old, ignore_errors=True)
    run = root / f"journey-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    run.mkdir()
    return run


@pytest.fixture(scope="module")
def journey(
    tmp_path_factory: pytest.TempPathFactory, mqtt_broker: MqttBroker, timescale_dsn: str
) -> Iterator[Journey]:
    journey_dir = _fresh_run_dir(artifacts_root())
    timings: dict[str, float] = {}
    workdir = tmp_path_factory.mktemp("journey")
    started = time.monotonic()
    running: list[ManagedProcess] = []
    try:
        home = asyncio.run(_bring_up(journey_dir, workdir, mqtt_broker, timings, running, timescale_dsn))
        yield home
    finally:
        for process in running:  # the add-on first: it would log Home Assistant's absence
            process.stop()
        timings["total"] = round(time.monotonic() - started, 1)
        (journey_dir / "timings.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")
        SUMMARY.append(f"journey timings (s): {json.dumps(timings)}")
        SUMMARY.append(f"journey artefacts (logs, screenshots, page texts, timings): {journey_dir}")


SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the artefacts are and how long each phase took, also when every test passed."""
    for line in SUMMARY:
        terminalreporter.write_line(line)


@pytest.fixture
async def ha(journey: Journey) -> AsyncIterator[HomeAssistantApi]:
    """The owner's REST/WebSocket access, fresh for each test (its own session and event loop)."""
    async with aiohttp.ClientSession() as session:
        api = HomeAssistantApi(session, journey.hass.url, journey.tokens.access_token)
        yield api
        await api.close()
