"""Start the whole service in-process for tests (also used by the Home Assistant integration's tests).

    from shems_optimizer.wiring.testing import running_service

    async with running_service(tmp_path, token="t") as svc:
        ...  # svc.url, svc.token, svc.instance_id; await svc.stop(); await svc.start()

The service runs in the caller's event loop on 127.0.0.1 and a free port (kept across stop/start so
clients can reconnect), with the embedded store in ``data_dir`` and MQTT off unless a broker is given.
Leaving the block stops everything: no task, timer or thread remains.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from shems_optimizer.app.config import MqttConfig, ServiceConfig
from shems_optimizer.app.planning.planning import Planner

from .process import Service


class RunningService:
    def __init__(
        self, config: ServiceConfig, planner: Planner | None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._config = config
        self._planner = planner
        self._clock = clock
        self.service: Service | None = None
        self._port = config.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def token(self) -> str:
        assert self.service is not None
        return self.service.tokens.token

    @property
    def instance_id(self) -> str:
        assert self.service is not None
        return self.service.instance_id

    @property
    def running(self) -> bool:
        return self.service is not None and self.service.port is not None

    async def start(self) -> None:
        if self.running:
            return
        config = replace(self._config, port=self._port)
        self.service = Service(config, planner=self._planner, clock=self._clock)
        await self.service.start()
        assert self.service.port is not None
        self._port = self.service.port

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()

    async def restart(self, **changes: Any) -> None:
        """Stop, change the configuration (e.g. ``homeassistant=``) and start again on the same port and
        data directory, as a user does after editing the add-on's settings."""
        await self.stop()
        self._config = replace(self._config, **changes)
        await self.start()

    async def quiet(self, limit_s: float = 30.0) -> dict[str, Any] | None:
        """Wait until no re-plan is asked for or under way and the figures that follow a plan (outlook,
        costs) are done; return the plan in force, which then stays until something new happens.

        Tests read a plan and then what depends on it: without this a re-plan the service had already
        queued (e.g. for the site just pushed) can land in between.
        """
        service = self.service
        assert service is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while True:
            while service.replanning or (
                service.plans is not None and service.plans.status()["optimizer"] == "running"
            ):
                if loop.time() > deadline:
                    raise TimeoutError(f"the service kept re-planning for {limit_s} s")
                await asyncio.sleep(0.02)
            for follower in (service.outlook, service.bill):
                if follower is not None:
                    await asyncio.wait_for(follower.wait(), max(deadline - loop.time(), 0.1))
            if not service.replanning:
                return service.plans.current_plan() if service.plans is not None else None


@asynccontextmanager
async def running_service(
    data_dir: Path,
    *,
    token: str | None = "test-token",
    mqtt_host: str | None = None,
    mqtt_port: int = 1883,
    mqtt_topic_prefix: str = "shems",
    planner: Planner | None = None,
    clock: Callable[[], datetime] | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningService]:
    config = ServiceConfig(
        data_dir=Path(data_dir),
        host="127.0.0.1",
        port=0,
        mqtt=MqttConfig(host=mqtt_host, port=mqtt_port, topic_prefix=mqtt_topic_prefix)
        if mqtt_host
        else None,
        fixed_token=token,
        **overrides,
    )
    running = RunningService(config, planner, clock)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
