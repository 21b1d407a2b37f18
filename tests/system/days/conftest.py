"""Home Assistant harness, the real add-on in-process, and one fake clock for both.

The clock is the harness's freezer: Home Assistant's ``utcnow``, the event loop's time and the add-on's
clock (``running_service(clock=dt_util.utcnow)``) all read it, so moving it 15 minutes runs every timer
due in between, in Home Assistant and in the add-on alike (the MPC loop's re-plan interval, the live
watcher, the plan's step boundaries, the appliance start timers). The add-on reads Home Assistant's
states over the harness's HTTP server with a long-lived token, as it does through the Supervisor.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

# Imported before the clock is frozen: pandas and numpy must not load under freezegun.
from shems_optimizer.app.config import HomeAssistantConfig
from shems_optimizer.wiring.testing import RunningService, running_service

from .home import START

SETUP = timedelta(minutes=5)

TOKEN = "days-token"
BLUEPRINTS = Path(__file__).resolve().parents[3] / "blueprints" / "automation" / "shems"


OUTCOMES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The simulated days' outcomes, also when every check passed, so they can be quoted."""
    if OUTCOMES:
        terminalreporter.write_sep("-", "simulated days: outcomes")
        for line in OUTCOMES:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/shems."""


@pytest.fixture
def sim_clock(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """The one clock of the simulation, set before Home Assistant starts: a few minutes before the
    simulation's first tick, so the set-up (and the add-on's first plan, made a settle delay after
    the site arrives) is done when the first tick's timers run."""
    freezer.move_to(START - SETUP)
    return freezer


@pytest.fixture
async def ha_api(
    sim_clock: FrozenDateTimeFactory,
    hass: HomeAssistant,
    hass_admin_user: Any,
    aiohttp_client: Any,
    socket_enabled: None,
    tmp_path: Path,
) -> HomeAssistantConfig:
    """Home Assistant's REST and WebSocket API on loopback, and a token for the add-on."""
    hass.config.currency = "EUR"
    hass.config.location_name = "Simulated home"
    hass.config.latitude, hass.config.longitude = 48.83, 6.86
    await hass.config.async_set_time_zone("Europe/Berlin")
    config = tmp_path / "config"
    shutil.copytree(BLUEPRINTS, config / "blueprints" / "automation" / "shems")
    hass.config.config_dir = str(config)
    for component in (
        "http",
        "api",
        "websocket_api",
        "homeassistant",
        "system_log",
        "persistent_notification",
    ):
        assert await async_setup_component(hass, component, {})
    client = await aiohttp_client(hass.http.app)
    refresh = await hass.auth.async_create_refresh_token(
        hass_admin_user,
        client_name="SHEMS add-on",
        token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=3650),
    )
    return HomeAssistantConfig(
        str(client.make_url("/")).rstrip("/"), hass.auth.async_create_access_token(refresh)
    )


@pytest.fixture
async def addon(ha_api: HomeAssistantConfig, tmp_path: Path) -> AsyncIterator[RunningService]:
    """The real add-on, on the simulation's clock, reading Home Assistant like the installed one."""
    async with running_service(
        tmp_path / "addon", token=TOKEN, clock=dt_util.utcnow, homeassistant=ha_api
    ) as svc:
        # The 7-day outlook (an hourly week-long solve after every plan, in its own thread) is not what
        # these days test, and 192 of them would not fit the module's time budget on two cores.
        assert svc.service is not None and svc.service.outlook is not None
        svc.service.outlook._maker = None
        yield svc
