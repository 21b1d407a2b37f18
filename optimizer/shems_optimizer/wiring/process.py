"""The service process: builds every component from a :class:`ServiceConfig`, starts and stops them.

Start-up order: data directory and token, store (migrations), home, devices, plans, schedules, MQTT
link and command dispatcher, API listener, MPC loop. Shutdown runs in reverse and waits for each part,
so no task, timer, connection or thread is left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web

from shems_optimizer import __version__
from shems_optimizer.adapters.homeassistant.client import HomeAssistantClient
from shems_optimizer.adapters.homeassistant.ha_services import HaServiceCaller
from shems_optimizer.adapters.homeassistant.live_inputs import LiveInputs, LiveWatcher
from shems_optimizer.adapters.homeassistant.measurements import LiveMeasurements
from shems_optimizer.adapters.ingest.ha_ingest import HaIngestService
from shems_optimizer.adapters.ingest.telemetry import TelemetryService
from shems_optimizer.adapters.metrics import MeteredEvents, ServiceMetrics
from shems_optimizer.adapters.mqtt.mqtt_link import MqttLink
from shems_optimizer.adapters.mqtt.plan_publisher import PlanPublisher
from shems_optimizer.adapters.store import open_store, store_config
from shems_optimizer.adapters.store.snapshots import SnapshotKeeper
from shems_optimizer.adapters.store.sqlite_backup import restore_if_absent
from shems_optimizer.api import ApiContext, create_app
from shems_optimizer.api.auth import PeerPolicy, TokenStore
from shems_optimizer.api.ratelimit import RateLimiter
from shems_optimizer.api.stream import StreamHub
from shems_optimizer.app.config import ServiceConfig
from shems_optimizer.app.devices.devices import DeviceRegistry
from shems_optimizer.app.execution.ack_topics import follow_ack_topics
from shems_optimizer.app.execution.commands import CommandDispatcher
from shems_optimizer.app.execution.plan_executor import PlanExecutor
from shems_optimizer.app.inputs.home_history import HistoryLoader
from shems_optimizer.app.planning.controlled_load import ControlledLoad
from shems_optimizer.app.planning.engine_planner import PLAN_TIME_LIMIT_S, EnginePlanner
from shems_optimizer.app.planning.health import PlanningHealth
from shems_optimizer.app.planning.mpc import MpcLoop
from shems_optimizer.app.planning.outlook import OutlookService
from shems_optimizer.app.planning.plan_archive import StorePlanArchive
from shems_optimizer.app.planning.planning import Planner, PlanService
from shems_optimizer.app.ports import ServiceInfo
from shems_optimizer.app.records.models import Device, Home
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.app.reporting.analytics import ConsumptionAnalytics
from shems_optimizer.app.reporting.bill import BillService
from shems_optimizer.app.reporting.predictions import Forecasts
from shems_optimizer.app.site.engine_site import check_site_now
from shems_optimizer.app.site.problems import SetupProblems
from shems_optimizer.app.site.schedules import ScheduleBook
from shems_optimizer.app.site.site_store import SiteStore
from shems_optimizer.core.planner import Options
from shems_optimizer.runtime.blocking import BlockingRunner
from shems_optimizer.runtime.files import instance_id
from shems_optimizer.runtime.health import HealthBoard
from shems_optimizer.runtime.watchdog import StoreProbe, Watchdog

_LOGGER = logging.getLogger(__name__)
HOME_ID = "home"
# The running parts in the order they stop (attribute, its stopping method): what acts on the home and
# serves requests first, then, once the background tasks are done, the links they used.
_STOPPED_BEFORE_BACKGROUND = (
    ("watchdog", "stop"),
    ("executor", "stop"),
    ("_watcher", "stop"),
    ("_mpc", "stop"),
    ("_runner", "cleanup"),
    ("outlook", "stop"),
    ("bill", "stop"),
    ("dispatcher", "stop"),
)
_STOPPED_AFTER_BACKGROUND = (
    ("ha_ingest", "stop"),
    ("telemetry", "stop"),
    ("mqtt", "stop"),
    ("_http", "close"),
)


class Service:
    def __init__(
        self,
        config: ServiceConfig,
        planner: Planner | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(tz=UTC))
        self.metrics = ServiceMetrics()
        self.hub = StreamHub()
        self.events = MeteredEvents(self.hub, self.metrics)  # what the application publishes to
        self.hub.max_lag_s = config.stream_max_lag_s  # slow subscribers are closed after this
        self.health = HealthBoard()
        self.watchdog: Watchdog | None = None
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.tokens = TokenStore(config.data_dir)
        if config.fixed_token:
            self.tokens.install(config.fixed_token)
        self.instance_id = instance_id(config.data_dir)
        self.site = SiteStore(config.data_dir, extra_check=check_site_now)
        self._planner_override = planner
        self._started_at: datetime | None = None
        self.port: int | None = None
        self.app: web.Application | None = None
        self.repo: Repository | None = None
        self.plans: PlanService | None = None
        self.devices: DeviceRegistry | None = None
        self.schedules: ScheduleBook | None = None
        self.dispatcher: CommandDispatcher | None = None
        self.mqtt: MqttLink | None = None
        self.telemetry: TelemetryService | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._blocking: BlockingRunner | None = None
        self._mpc: MpcLoop | None = None
        self._watcher: LiveWatcher | None = None
        self.executor: PlanExecutor | None = None
        self.live_inputs: LiveInputs | None = None
        self.ha_ingest: HaIngestService | None = None
        self.outlook: OutlookService | None = None
        self.bill: BillService | None = None
        self._snapshots: SnapshotKeeper | None = None

    @property
    def replanning(self) -> bool:
        """A re-plan is asked for or under way (see :attr:`MpcLoop.busy`)."""
        return self._mpc is not None and self._mpc.busy

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the service is not started")
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        """Compose and start the parts, each step in its own method, in dependency order."""
        config = self.config
        self._started_at = self._clock()
        loop = asyncio.get_running_loop()
        self.hub.bind(loop)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shems-planner")
        blocking = self._blocking = BlockingRunner()
        repo = await self._open_store(blocking)
        prefix = config.mqtt.topic_prefix if config.mqtt else "shems"
        devices = self.devices = DeviceRegistry(repo, blocking, HOME_ID, prefix, self.events)
        await devices.load()
        if config.homeassistant is not None:
            self._http = aiohttp.ClientSession()
        ha_client = (
            HomeAssistantClient(config.homeassistant, self._http)
            if config.homeassistant and self._http
            else None
        )
        plans, mpc, schedules, live, problems = await self._start_planning(
            repo, blocking, devices, ha_client, loop
        )
        await self._start_ha_ingest(repo, devices)
        dispatcher = await self._start_dispatch(repo, blocking, devices, plans, ha_client, prefix, loop)
        watchdog = self._watch(repo)
        self._add_health()
        self._collect(plans)
        executor = self.executor = PlanExecutor(
            self.site.get,
            plans.current_execution,
            LiveMeasurements(devices, live),
            dispatcher,
            lambda device_id: devices.route_now(device_id) is not None,
        )
        await self._start_api(repo, blocking, plans, devices, dispatcher, schedules, executor)
        for problem in problems.current():
            _LOGGER.warning(problem.message, extra={"problem": problem.code})
        if config.announce_discovery:
            from shems_optimizer.adapters.homeassistant.addon_options import announce

            assert self.port is not None  # set by _start_api
            await loop.run_in_executor(None, announce, self.tokens.token, self.port)
        current = plans.current_plan()
        if current is not None and self.outlook is not None:
            # The outlook is not archived: rebuild it for the plan in force, with fresh live inputs.
            self.outlook.follow(current, prepare=live.refresh)
        mpc.start()
        if self._watcher is not None:
            self._watcher.start()
        executor.start()
        watchdog.start()

    async def _open_store(self, blocking: BlockingRunner) -> Repository:
        """The store (restored from a backup snapshot first, if need be), with the home in it."""
        config = self.config
        if config.storage.kind == "embedded":
            # A data directory restored from a Home Assistant backup holds the snapshot, not the database.
            await blocking(restore_if_absent, config.data_dir)
        repo = self.repo = await blocking(open_store, store_config(config.storage, config.data_dir))
        if config.storage.kind == "embedded":
            self._snapshots = SnapshotKeeper(config.data_dir)
            self._snapshots.start()
        site_doc = self.site.get() or {}
        await blocking(
            repo.upsert_home,
            Home(HOME_ID, str(site_doc.get("name", "Home")), str(site_doc.get("timezone", "UTC"))),
        )
        return repo

    async def _start_planning(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        devices: DeviceRegistry,
        ha_client: HomeAssistantClient | None,
        loop: asyncio.AbstractEventLoop,
    ) -> tuple[PlanService, MpcLoop, ScheduleBook, LiveInputs, SetupProblems]:
        """The planner and its inputs, the plan in force, the long-range figures, the MPC loop and
        the schedules; a change of the site asks for a new plan."""
        config = self.config
        history = HistoryLoader(repo, blocking, devices.devices)
        controlled = ControlledLoad()

        async def load_history(_site: object) -> list[tuple[datetime, float]]:
            # The base load the forecaster learns: without the EV charge and runs SHEMS switched.
            return list(controlled.base_load((await history.history()).load))

        async def pv_history(_site: object) -> list[tuple[datetime, float]]:
            return list((await history.history()).pv)

        live = self.live_inputs = LiveInputs(ha_client, load_history, pv_history)
        planner = self._planner_override or EnginePlanner(
            live,
            Options(time_limit_s=PLAN_TIME_LIMIT_S, solver=config.solver),
            on_plan=controlled.record,
        )
        plans = self.plans = PlanService(
            self.site,
            planner,
            StorePlanArchive(repo, blocking, HOME_ID),
            self.events,
            self._executor,
            before_run=live.refresh,
            clock=self._clock,
        )
        await plans.load()
        problems = SetupProblems(config.homeassistant is not None, self.site.get)
        plans.add_status(problems.status)
        await self._start_long_range(repo, blocking, plans, planner)
        mpc = self._mpc = MpcLoop(
            plans, timedelta(minutes=config.optimization_interval_min), clock=self._clock
        )
        schedules = self.schedules = ScheduleBook(
            repo, blocking, HOME_ID, self.site, plans, mpc.trigger, clock=self._clock
        )
        await schedules.load()
        live.requests_source = schedules.requests
        if ha_client is not None:
            self._watcher = LiveWatcher(live, self.site.get, plans.current_plan, mpc.trigger)

        def site_changed(_site: object) -> None:
            loop.call_soon_threadsafe(mpc.trigger, "site changed")

        self.site.on_change(site_changed)
        return plans, mpc, schedules, live, problems

    async def _start_ha_ingest(self, repo: Repository, devices: DeviceRegistry) -> None:
        """Home Assistant's sensors named in the site document → the store."""
        config = self.config
        if config.homeassistant is None:
            return
        ha_ingest = self.ha_ingest = HaIngestService(
            repo,
            config.homeassistant,
            config.data_dir,
            devices,
            HOME_ID,
            sample_interval_s=config.ha_sample_interval_s,
        )
        await ha_ingest.start(self.site.get())
        self.site.on_change(ha_ingest.site_changed)
        self.health.add("homeassistant_sensors", ha_ingest.health)

    async def _start_dispatch(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        devices: DeviceRegistry,
        plans: PlanService,
        ha_client: HomeAssistantClient | None,
        prefix: str,
        loop: asyncio.AbstractEventLoop,
    ) -> CommandDispatcher:
        """The command dispatcher with its transports (MQTT, Home Assistant service calls), the ack
        topics it listens on, MQTT telemetry and the retained plan topics."""
        config = self.config
        if config.mqtt is not None:
            self.mqtt = MqttLink(config.mqtt, client_id=f"shems-{self.instance_id[:12]}")
        ha = HaServiceCaller(ha_client) if ha_client is not None else None
        dispatcher = self.dispatcher = CommandDispatcher(
            repo, blocking, devices.route, config.commands, mqtt=self.mqtt, homeassistant=ha, hub=self.events
        )
        if self.mqtt is not None:
            mqtt = self.mqtt
            follow_ack_topics(mqtt, devices, prefix, dispatcher.ack_handler)
            await mqtt.start()
            telemetry = self.telemetry = TelemetryService(
                repo, mqtt.config, config.data_dir, devices, client_id=f"shems-ingest-{self.instance_id[:12]}"
            )
            await telemetry.start()

            def rebind(_device: Device | None) -> None:
                task = loop.create_task(telemetry.rebind())
                self._background.add(task)
                task.add_done_callback(self._background.discard)

            devices.on_change(rebind)
            publisher = PlanPublisher(mqtt, prefix)
            plans.on_new_plan(publisher.publish)
        await dispatcher.resume_unfinished()
        return dispatcher

    def _add_health(self) -> None:
        self.health.add("api", lambda: (True, "listening"))
        self.health.add(
            "optimizer",
            PlanningHealth(
                lambda: self.plans.status() if self.plans is not None else {},
                lambda: self.site.get() is not None,
                self.config.optimization_interval_min,
                self._clock,
                self._started_at,
            ),
        )
        if self.mqtt is not None:
            self.health.add("mqtt", lambda: self.mqtt.health() if self.mqtt is not None else (True, "off"))
        if self.telemetry is not None:
            self.health.add("telemetry", self.telemetry.health)
            limit = self.config.dead_letter_alarm_per_min
            self.health.add(
                "dead_letters",
                lambda: self.telemetry.dead_letter_health(limit)
                if self.telemetry
                else (True, "no telemetry"),
            )

    async def _start_api(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        plans: PlanService,
        devices: DeviceRegistry,
        dispatcher: CommandDispatcher,
        schedules: ScheduleBook,
        executor: PlanExecutor,
    ) -> None:
        """The HTTP API over the application's parts, listening."""
        config = self.config
        context = ApiContext(
            info=ServiceInfo(__version__, self.instance_id, datetime.now(tz=UTC)),
            tokens=self.tokens,
            hub=self.hub,
            peers=PeerPolicy(frozenset(config.trusted_peers)),
            limiter=RateLimiter(config.rate_limit_per_min),
            anonymous_limiter=RateLimiter(config.anonymous_limit_per_min),
            site=self.site,
            plan=plans,
            devices=devices,
            commands=dispatcher,
            analytics=ConsumptionAnalytics(repo, blocking, HOME_ID, devices, self.site),
            schedules=schedules,
            predictions=Forecasts(
                self.site, plans, self.outlook.current if self.outlook else None, clock=self._clock
            ),
            execution=executor,
            health=self.health,
            metrics=self.metrics,
        )
        self.app = create_app(context)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, config.host, config.port, reuse_address=True).start()
        bound = self._runner.addresses
        self.port = int(bound[0][1]) if bound else config.port
        self.tokens.log_location()
        _LOGGER.info(
            "SHEMS service listening",
            extra={"port": self.port, "instance_id": self.instance_id, "store": repo.backend},
        )

    def _watch(self, repo: Repository) -> Watchdog:
        """The watchdog: store reachability for readiness, restarts of dead ingestion and MQTT threads."""
        probe = StoreProbe(lambda: repo.get_home(HOME_ID), ok_detail=repo.backend, timeout_s=5.0)
        self.health.add("store", probe.health)
        watchdog = self.watchdog = Watchdog(self.config.watchdog_interval_s, probe)
        if self.telemetry is not None:
            watchdog.supervise("telemetry", self.telemetry.alive, self.telemetry.restart)
        if self.mqtt is not None:
            watchdog.supervise("mqtt", self.mqtt.alive, self.mqtt.restart)
        return watchdog

    def _collect(self, plans: PlanService) -> None:
        collector = self.metrics.collector
        collector.hub = self.hub
        collector.plan_status = plans.status
        collector.readiness = self.health.components
        if self.watchdog is not None:
            collector.restarts = self.watchdog.restarts
        telemetry, ha_ingest = self.telemetry, self.ha_ingest
        if telemetry is not None:
            collector.pipelines["mqtt"] = lambda: telemetry.pipeline
        if ha_ingest is not None:
            collector.pipelines["homeassistant"] = lambda: ha_ingest.pipeline

        def observe(_plan: object) -> None:
            duration = plans.status().get("last_duration_s")
            if isinstance(duration, int | float):
                self.metrics.plan_duration.observe(duration)

        plans.on_new_plan(observe)

    async def _start_long_range(
        self, repo: Repository, blocking: BlockingRunner, plans: PlanService, planner: Planner
    ) -> None:
        """The 7-day outlook and the month's cost figures, both refreshed after each plan."""
        outlook = self.outlook = OutlookService(
            planner if isinstance(planner, EnginePlanner) else None, self.site.get, plans.annotate
        )
        bill = self.bill = BillService(
            repo,
            blocking,
            HOME_ID,
            self.site.get,
            plans.current_plan,
            self._clock,
            lambda: self.hub.publish("status", plans.status()),
        )
        plans.on_new_plan(outlook.follow)
        plans.on_new_plan(bill.follow)
        plans.add_status(bill.status)
        plans.add_status(lambda: {"outlook": outlook.status()})
        await bill.refresh()

    async def stop(self) -> None:
        await self._stop_parts(_STOPPED_BEFORE_BACKGROUND)
        for task in list(self._background):
            await task
        await self._stop_parts(_STOPPED_AFTER_BACKGROUND)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._snapshots is not None:
            await self._snapshots.stop()
        if self.repo is not None and self._blocking is not None:
            await self._blocking(self.repo.close)
            self.repo = None
        if self._snapshots is not None:
            await self._snapshots.snapshot_now()  # for a backup taken while the add-on is stopped
            self._snapshots = None
        if self._blocking is not None:
            self._blocking.shutdown()
            self._blocking = None
        if self.port is not None:
            _LOGGER.info("SHEMS service stopped")
        self.port = None

    async def _stop_parts(self, parts: tuple[tuple[str, str], ...]) -> None:
        """Stop each running part (attribute, its stopping coroutine method) in order and forget it."""
        for attribute, method in parts:
            part = getattr(self, attribute)
            if part is not None:
                await getattr(part, method)()
                setattr(self, attribute, None)
