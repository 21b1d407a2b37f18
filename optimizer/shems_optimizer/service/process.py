"""The service process: builds every component from a :class:`ServiceConfig`, starts and stops them.

Start-up order: data directory, token, store, site, planner, API listener, MQTT, MPC loop. Shutdown
runs in reverse and waits for each part, so no task, timer or thread is left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from shems_optimizer import __version__
from shems_optimizer.api import ApiContext, create_app
from shems_optimizer.api.auth import PeerPolicy, TokenStore
from shems_optimizer.api.ports import ServiceInfo
from shems_optimizer.api.ratelimit import RateLimiter
from shems_optimizer.api.stream import StreamHub

from .config import ServiceConfig
from .engine_planner import EnginePlanner
from .engine_site import check_site
from .files import instance_id
from .health import HealthBoard
from .mpc import MpcLoop
from .planning import PlanFile, Planner, PlanService
from .site_store import SiteStore

_LOGGER = logging.getLogger(__name__)


def default_planner() -> Planner:
    return EnginePlanner()


def check_site_now(document: Mapping[str, Any]) -> None:
    """Refuse a site the optimizer's model refuses, naming the document's field."""
    check_site(document, datetime.now(tz=UTC))


class Service:
    def __init__(
        self, config: ServiceConfig, planner: Planner | None = None, use_default_planner: bool = True
    ) -> None:
        self.config = config
        self._planner = planner if planner is not None or not use_default_planner else default_planner()
        self._runner: web.AppRunner | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._mpc: MpcLoop | None = None
        self.port: int | None = None
        self.hub = StreamHub()
        self.health = HealthBoard()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.tokens = TokenStore(config.data_dir)
        if config.fixed_token:
            self.tokens.install(config.fixed_token)
        self.instance_id = instance_id(config.data_dir)
        self.site = SiteStore(config.data_dir, extra_check=check_site_now)
        self.plans: PlanService | None = None
        self.app: web.Application | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the service is not started")
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        self.hub.bind(loop)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shems-planner")
        self.plans = PlanService(
            self.site, self._planner, PlanFile(config.data_dir), self.hub, self._executor
        )
        self._mpc = MpcLoop(self.plans, timedelta(minutes=config.optimization_interval_min))
        mpc = self._mpc

        def site_changed(_site: object) -> None:
            loop.call_soon_threadsafe(mpc.trigger, "site changed")

        self.site.on_change(site_changed)
        self.health.add("api", lambda: (True, "listening"))
        self.health.add("optimizer", self._optimizer_health)
        context = ApiContext(
            info=ServiceInfo(__version__, self.instance_id, datetime.now(tz=UTC)),
            tokens=self.tokens,
            hub=self.hub,
            peers=PeerPolicy(frozenset(config.trusted_peers)),
            limiter=RateLimiter(config.rate_limit_per_min),
            site=self.site,
            plan=self.plans,
            health=self.health,
        )
        self.app = create_app(context)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, config.host, config.port, reuse_address=True)
        await site.start()
        bound = self._runner.addresses
        self.port = int(bound[0][1]) if bound else config.port
        if self.tokens.created and not config.fixed_token:
            _LOGGER.warning(
                "a new API token was created; use it to connect Home Assistant or other clients",
                extra={"api_token_file": str(self.tokens.path)},
            )
        _LOGGER.info("SHEMS service listening", extra={"port": self.port, "instance_id": self.instance_id})
        if config.announce_discovery:
            from .addon_options import announce

            await loop.run_in_executor(None, announce, self.tokens.token, self.port)
        mpc.start()

    def _optimizer_health(self) -> tuple[bool, str]:
        if self._planner is None:
            return False, "optimizer engine not available"
        status = self.plans.status() if self.plans is not None else {}
        if status.get("last_error"):
            return False, f"last run failed: {status['last_error']}"
        return True, status.get("optimizer", "idle")

    async def stop(self) -> None:
        if self._mpc is not None:
            await self._mpc.stop()
            self._mpc = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self.port = None
        _LOGGER.info("SHEMS service stopped")
