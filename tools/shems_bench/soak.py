"""`shems-optimizer bench soak`: a compressed day of a busy home, checking that nothing grows or is lost.

The service runs as ``shems-optimizer serve`` in its own process (the embedded store, or with
``--storage timescaledb`` a fresh database on the environment's PostgreSQL + TimescaleDB; the real MQTT
broker). For ``--minutes`` of wall time the simulated clock runs ``--speed`` times faster than the wall
(30 minutes: 5 simulated hours at the default 10, a day at 48). It gets: telemetry from ``--devices``
meters, each a 10-s meter at ``--telemetry-rate`` × real rate (default: ``--speed``; the default 50
meters at 10× make 50 readings/s), QoS 1 through the broker; a new plan every optimisation interval (15
simulated minutes); a device command every few seconds, acked by a simulated device; ``--subscribers``
WebSocket stream clients. Faults (:mod:`.soak_faults`): a quarter of the way in the service process is
killed (SIGKILL) and started again on the same data; half way the broker is stopped for a few seconds
and started again; on TimescaleDB, at three quarters PostgreSQL is stopped for ``--db-outage-s`` and
started again (``--db-fault crash``: stopped as by a crash), readiness asked meanwhile. Every
``--sample-s`` it samples the service process's resident memory, CPU, open file descriptors and
threads, and the queue depths the service reports (:mod:`.soak_sampling`). A probe reads the plan, the
status and a day's consumption once a second while all this goes on; the figures give its
p50/p95 latency per ``--window-min`` of wall time, beside RSS and fds at each window's end.

The verdict compares the last process's samples after its warm-up: first third against last third
(median RSS within 10 % + 8 MB, open fds within 5, threads within 2). Nothing lost is counted exactly,
per meter: readings sent against readings in the store at the end (and, for the database outage, those
sent inside its window against those stored with times inside it); commands created against commands
acked. ``--minutes 0.3`` is a smoke run of the whole path (no verdict is meaningful that short).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import soak_faults as faults
from .soak_clients import PREFIX, Meters, acking_device
from .soak_sampling import PROBE_PATHS, metrics, queue_depths, sample, timeline, verdict
from .soak_service import Service, Store

SITE = {
    "timezone": "Europe/Berlin",
    "price": {"kind": "tou", "periods": [{"start": "00:00", "import_per_kwh": 0.15},
                                        {"start": "06:00", "import_per_kwh": 0.35}]},
    "batteries": [{"id": "bat", "name": "Battery", "capacity_kwh": 10, "max_charge_w": 5000,
                   "max_discharge_w": 5000, "efficiency": 0.95}],
}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock minutes (default 30)")
    parser.add_argument("--devices", type=int, default=50, help="meters sending telemetry (default 50)")
    parser.add_argument(
        "--speed", type=float, default=10.0, help="simulated time × wall time: plans every 15/speed min"
    )
    parser.add_argument(
        "--telemetry-rate", type=float, default=None, help="telemetry rate × real (default: --speed)"
    )
    parser.add_argument("--subscribers", type=int, default=5, help="stream clients (default 5)")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument(
        "--window-min", type=float, default=5.0, help="minutes per latency window (default 5)"
    )
    parser.add_argument("--storage", choices=("embedded", "timescaledb"), default="embedded")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("SHEMS_TEST_PG_DSN", ""),
        help="PostgreSQL superuser DSN for --storage timescaledb (default SHEMS_TEST_PG_DSN)",
    )
    parser.add_argument(
        "--db-outage-s", type=float, default=10.0, help="how long PostgreSQL stays stopped (default 10)"
    )
    parser.add_argument(
        "--db-fault",
        choices=("stop", "crash"),
        default="stop",
        help="PostgreSQL stopped cleanly (pg_ctl -m fast, default) or as by a crash (-m immediate)",
    )
    parser.add_argument("--mqtt-host", default=os.environ.get("SHEMS_TEST_MQTT_HOST", "127.0.0.1"))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("SHEMS_TEST_MQTT_PORT", "1883")))
    parser.add_argument(
        "--services-ctl",
        default=os.environ.get("SHEMS_TEST_SERVICES_CTL"),
        help="script taking mqtt-stop/-start and pg-stop/-start (the test environment's; without it: "
        "no broker or database restart)",
    )


async def _setup(http: Any, url: str, devices: list[str]) -> None:
    async with http.put(f"{url}/site", json=SITE) as resp:
        resp.raise_for_status()
    for device in devices:
        body = {"device_id": device, "name": device.title(), "type": "load",
                "mqtt": {"state_topic": f"{PREFIX}/meters/{device}/state"}}  # fmt: skip
        async with http.post(f"{url}/devices", json=body) as resp:
            resp.raise_for_status()
    body = {"device_id": "boiler", "name": "Boiler", "type": "appliance"}
    async with http.post(f"{url}/devices", json=body) as resp:
        resp.raise_for_status()


async def _drain(store: Store) -> None:
    """Let ingestion drain what the broker still holds: wait until the store stops growing."""
    last, steady_since = -1, time.monotonic()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and time.monotonic() - steady_since < 5:
        count = sum((await asyncio.to_thread(store.counts)).values())
        if count != last:
            last, steady_since = count, time.monotonic()
        await asyncio.sleep(0.5)


class _Load:
    """The soak's clients of the API: stream subscribers, the planner, the commander and the probe."""

    def __init__(self, http: Any, url: str, args: argparse.Namespace, started: float) -> None:
        self.http, self.url, self.args, self.started = http, url, args, started
        self.stop = asyncio.Event()
        self.commands: dict[str, str] = {}
        self.stream_events = [0] * args.subscribers
        self.stream_connections = [0] * args.subscribers
        self.plans = {"requested": 0, "refused": 0}
        self.probes: list[tuple[float, str, float, int]] = []  # (t_s, path, ms, status; 0 = no answer)

    def tasks(self) -> list[asyncio.Task[None]]:
        tasks = [asyncio.create_task(self.subscriber(i)) for i in range(self.args.subscribers)]
        for job in (self.planner(), self.commander(), self.prober()):
            tasks.append(asyncio.create_task(job))
        return tasks

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def subscriber(self, i: int) -> None:
        import aiohttp

        while not self.stop.is_set():
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.http.ws_connect(f"{self.url}/stream", heartbeat=20) as ws:
                    self.stream_connections[i] += 1
                    async for _msg in ws:
                        self.stream_events[i] += 1
                        if self.stop.is_set():
                            return
            await asyncio.sleep(0.5)

    async def planner(self) -> None:
        import aiohttp

        while not self.stop.is_set():
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.http.post(f"{self.url}/optimize") as resp:
                    self.plans["requested"] += 1
                    self.plans["refused"] += resp.status >= 400
            await self._pause(15 * 60 / self.args.speed)  # one optimisation interval, compressed

    async def commander(self) -> None:
        import aiohttp

        while not self.stop.is_set():
            with contextlib.suppress(aiohttp.ClientError, OSError):
                body = {"command": "set_power", "payload": {"power_w": 1000}}
                async with self.http.post(f"{self.url}/devices/boiler/commands", json=body) as resp:
                    if resp.status < 300:
                        self.commands[(await resp.json())["command_id"]] = "created"
            await self._pause(3.0)

    async def prober(self) -> None:
        import aiohttp

        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        query = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
        n = 0
        while not self.stop.is_set():
            path = PROBE_PATHS[n % len(PROBE_PATHS)]
            n += 1
            t0 = time.monotonic()
            status = 0
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                params = query if path == "/consumption" else None
                async with self.http.get(
                    f"{self.url}{path}", params=params, timeout=aiohttp.ClientTimeout(total=30)
                ) as resp:
                    await resp.read()
                    status = resp.status
            self.probes.append((round(t0 - self.started, 2), path, (time.monotonic() - t0) * 1000, status))
            await self._pause(1.0 / len(PROBE_PATHS))

    async def command_statuses(self) -> dict[str, int]:
        import aiohttp

        for command_id in list(self.commands):
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.http.get(f"{self.url}/devices/boiler/commands/{command_id}") as resp:
                    if resp.status == 200:
                        self.commands[command_id] = (await resp.json()).get("status", "unknown")
        statuses: dict[str, int] = {}
        for status in self.commands.values():
            statuses[status] = statuses.get(status, 0) + 1
        return statuses


async def _faults_and_samples(
    service: Service, load: _Load, args: argparse.Namespace, found: list[dict[str, Any]],
    samples: list[dict[str, Any]],
) -> None:  # fmt: skip
    total_s = args.minutes * 60
    ctl = args.services_ctl
    plan = [(0.25, "kill")]
    if ctl:
        plan.append((0.5, "broker"))
        if service.store.kind == "timescaledb":
            plan.append((0.75, "database"))
    while (elapsed := time.monotonic() - load.started) < total_s:
        with contextlib.suppress(OSError, KeyError, ProcessLookupError):
            row = sample(service, load.started)
            row["queues"] = queue_depths(await metrics(load.http, service.url))
            samples.append(row)
        if plan and elapsed >= total_s * plan[0][0]:
            fault = plan.pop(0)[1]
            if fault == "kill":
                found.append(await faults.kill_and_restart(service, load.http, elapsed))
            elif fault == "broker":
                found.append(await faults.broker_restart(ctl, elapsed))
            else:
                found.append(
                    await faults.database_outage(
                        ctl, service, load.http, elapsed, args.db_outage_s, args.db_fault == "crash"
                    )
                )
        await load._pause(args.sample_s)
    load.stop.set()


def _per_meter(sent: dict[str, int], stored: dict[str, int]) -> dict[str, Any]:
    short = {d: sent[d] - stored.get(d, 0) for d in sent if stored.get(d, 0) != sent[d]}
    return {
        "sent": sum(sent.values()),
        "stored": sum(stored.get(d, 0) for d in sent),
        "lost": sum(max(0, n) for n in short.values()),
        "meters_not_equal": short,  # meter: sent − stored, for every meter where they differ
    }


async def _soak(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    if args.storage == "timescaledb" and not args.dsn:
        raise SystemExit(
            "bench soak --storage timescaledb needs a superuser DSN (--dsn or SHEMS_TEST_PG_DSN)"
        )
    total_s = args.minutes * 60
    rate = args.speed if args.telemetry_rate is None else args.telemetry_rate
    devices = [f"meter{i:02d}" for i in range(args.devices)]
    found: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shems-soak-") as tmp:
        store = Store(args.storage, Path(tmp), args.dsn)
        await asyncio.to_thread(store.create)
        service = Service(Path(tmp), store, args)
        meters: Meters | None = None
        device_client = None
        try:
            service.start()
            async with aiohttp.ClientSession() as anon:
                await faults.wait_healthy(anon, service.url)
            headers = {"Authorization": f"Bearer {service.token}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                await _setup(http, service.url, devices)
                device_client = await asyncio.to_thread(
                    acking_device, args.mqtt_host, args.mqtt_port, "boiler"
                )
                meters = Meters(args.mqtt_host, args.mqtt_port, devices, rate / 10.0)
                meters.start()
                load = _Load(http, service.url, args, time.monotonic())
                tasks = load.tasks()
                await _faults_and_samples(service, load, args, found, samples)
                await asyncio.to_thread(meters.stop)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await _drain(store)
                statuses = await load.command_statuses()
                final = await metrics(http, service.url)
        finally:
            if meters is not None and meters.running:
                await asyncio.to_thread(meters.stop)
            if device_client is not None:
                device_client.disconnect()
                device_client.loop_stop()
            service.stop()
        try:
            stored = await asyncio.to_thread(store.counts)
            for fault in found:
                if "window" in fault:
                    began, ended = fault.pop("window")
                    sent_in = meters.sent_between(began.timestamp(), ended.timestamp())
                    stored_in = await asyncio.to_thread(store.counts, began, ended)
                    fault["readings_sent_during_outage"] = _per_meter(sent_in, stored_in)
        finally:
            await asyncio.to_thread(store.drop)
    assert meters is not None
    acked = meters.acked
    probes = load.probes
    return {
        "storage": args.storage,
        "wall_minutes": args.minutes,
        "speed": args.speed,
        "simulated_hours": round(args.minutes * args.speed / 60, 2),
        "devices": args.devices,
        "telemetry_rate_x": rate,
        "readings_per_s": round(args.devices * rate / 10, 1),
        "readings": _per_meter(meters.sent_by_device, stored),
        "readings_acked_by_broker": sum(acked.values()),
        "commands": len(load.commands),
        "command_statuses": statuses,
        "plans_requested": load.plans["requested"],
        "plans_refused": load.plans["refused"],
        "stream_subscribers": args.subscribers,
        "stream_events": sum(load.stream_events),
        "stream_connections": sum(load.stream_connections),  # each client once, again after the kill
        "faults": found,
        "ingest_counters_last_process": {
            k.removeprefix("shems_").split("{", 1)[0]: v
            for k, v in final.items()
            if k.startswith(("shems_readings_", "shems_telemetry_"))
        },
        "samples": len(samples),
        "first_sample": samples[0] if samples else None,
        "last_sample": samples[-1] if samples else None,
        "max_rss_mb": max((s["rss_mb"] for s in samples), default=None),
        "max_fds": max((s["fds"] for s in samples), default=None),
        "max_spool_files": max((s["spool_files"] for s in samples), default=None),
        "max_queues": {
            name: max(s["queues"].get(name, 0.0) for s in samples)
            for name in sorted({n for s in samples for n in s["queues"]})
        },
        "verdict": verdict(samples, warmup_s=max(10.0, total_s * 0.1)),
        "probe_requests": len(probes),
        "probe_failed": sum(status != 200 for *_, status in probes),
        "probe_statuses": {  # 0: no answer (the service is being restarted)
            f"{path} {status}": sum(1 for _t, p, _ms, st in probes if (p, st) == (path, status))
            for path, status in sorted({(p, st) for _t, p, _ms, st in probes})
        },
        "timeline": timeline(probes, samples, args.window_min * 60),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(_soak(args))
