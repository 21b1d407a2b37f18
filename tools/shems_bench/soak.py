"""`shems-optimizer bench soak`: a compressed day of a busy home, checking that nothing grows or is lost.

The service runs as ``shems-optimizer serve`` in its own process (embedded store, the real MQTT
broker). For ``--minutes`` of wall time (30 by default: 5 simulated hours at the default
``--speed`` of 10, a day at 48) it gets: telemetry from ``--devices`` meters, each reporting
``--speed``/10 times a second (a 10-s meter at ``--speed`` × real rate; the default 50 meters at
10× make 50 readings/s), QoS 1 through the broker; a new plan every optimisation interval (15
simulated minutes); a device command every few seconds, acked by a simulated device;
``--subscribers`` WebSocket stream clients. A quarter of the way in the service process is killed
(SIGKILL) and started again on the same data; half way the broker is stopped for a few seconds and
started again. Every ``--sample-s`` it samples the service process's
resident memory, CPU, open file descriptors and threads, and the queue depths the service reports.
A probe reads the plan, the status and a day's consumption once a second while all this goes on; the
figures give its p95 latency per ``--window-min`` of wall time, beside RSS and fds at each window's end.

The verdict compares the last process's samples after its warm-up: first third against last third
(median RSS within 10 % + 8 MB, open fds within 5). Nothing-lost counts: readings the broker
acknowledged to the meters against readings in the store at the end, commands created against commands
acked. ``--minutes 0.3`` is a smoke run of the whole path (no verdict is meaningful that short).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import python_env
from .api import process_cpu_s

PREFIX = "soak"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock minutes (default 30)")
    parser.add_argument("--devices", type=int, default=50, help="meters sending telemetry (default 50)")
    parser.add_argument("--speed", type=float, default=10.0, help="telemetry rate × real (default 10)")
    parser.add_argument("--subscribers", type=int, default=5, help="stream clients (default 5)")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument(
        "--window-min", type=float, default=5.0, help="minutes per latency window (default 5)"
    )
    parser.add_argument("--mqtt-host", default=os.environ.get("SHEMS_TEST_MQTT_HOST", "127.0.0.1"))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("SHEMS_TEST_MQTT_PORT", "1883")))
    parser.add_argument(
        "--services-ctl",
        default=os.environ.get("SHEMS_TEST_SERVICES_CTL"),
        help="script taking mqtt-stop / mqtt-start (the test environment's; without it: no broker restart)",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Service:
    """``shems-optimizer serve`` in its own process; killed and started again on the same data."""

    def __init__(self, data_dir: Path, args: argparse.Namespace) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self._args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = python_env()
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "shems_optimizer", "serve", "--data-dir", str(self.data_dir),
                "--host", "127.0.0.1", "--port", str(self.port), "--mqtt-host", self._args.mqtt_host,
                "--mqtt-port", str(self._args.mqtt_port), "--mqtt-topic-prefix", PREFIX,
                "--rate-limit", "1000000", "--interval", "1440", "--log-level", "warning",
            ],
            env=env,
        )  # fmt: skip

    @property
    def token(self) -> str:
        return (self.data_dir / "api_token").read_text(encoding="utf-8").strip()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)


class Meters:
    """One paho client publishing every meter's readings at QoS 1; counts what the broker acked."""

    def __init__(self, host: str, port: int, devices: list[str], per_device_hz: float) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._devices = devices
        self._period = 1.0 / (per_device_hz * len(devices))
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="soak-meters", protocol=mqtt.MQTTv5)
        self._client.max_inflight_messages_set(1000)
        # What each publish became; counted at the end. (No on_publish callback: paho calls it holding
        # its own lock, and a lock of ours around publish() beside it deadlocked the meters.)
        self._published: list[tuple[str, Any]] = []
        self.sent = 0
        self._stop = threading.Event()
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="soak-meters", daemon=True)

    @property
    def acked(self) -> dict[str, int]:
        """Readings per meter whose PUBACK came back from the broker."""
        counts = dict.fromkeys(self._devices, 0)
        for device, info in self._published:
            counts[device] += info.is_published()
        return counts

    def _run(self) -> None:
        counters = dict.fromkeys(self._devices, 0.0)
        last_us = dict.fromkeys(self._devices, 0)
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            device = self._devices[n % len(self._devices)]
            n += 1
            if not self._client.is_connected():  # the broker is down: the meter holds its reading
                self._stop.wait(0.2)
                continue
            now_us = max(int(time.time() * 1e6), last_us[device] + 1000)
            last_us[device] = now_us
            counters[device] += 0.001
            at = datetime.fromtimestamp(now_us / 1e6, tz=UTC).isoformat(timespec="milliseconds")
            payload = json.dumps({"time": at, "power_w": 100.0 + n % 900, "energy_kwh": counters[device]})
            self._published.append(
                (device, self._client.publish(f"{PREFIX}/meters/{device}/state", payload, qos=1))
            )
            self.sent += 1
            next_at += self._period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        deadline = time.monotonic() + 30
        while not all(info.is_published() for _, info in self._published) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._client.disconnect()
        self._client.loop_stop()


def _acking_device(host: str, port: int, device_id: str) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"soak-{device_id}", protocol=mqtt.MQTTv5)

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        command = json.loads(msg.payload)
        client.publish(
            f"{PREFIX}/devices/{device_id}/ack",
            json.dumps({"command_id": command["command_id"], "status": "ok"}),
            qos=1,
        )

    def on_connect(*_a: Any) -> None:  # also after the broker's restart
        client.subscribe(f"{PREFIX}/devices/{device_id}/command", qos=1)

    client.on_message = on_message
    client.on_connect = on_connect
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def _sample(service: Service, started: float) -> dict[str, Any]:
    assert service.proc is not None
    pid = service.proc.pid
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    spool = service.data_dir / "telemetry-spool"
    return {
        "t_s": round(time.monotonic() - started, 1),
        "pid": pid,
        "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "threads": int(fields["Threads"]),
        "fds": sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir()),
        "cpu_s": round(process_cpu_s(pid), 2),
        "spool_files": len(list(spool.glob("*"))) if spool.is_dir() else 0,
    }


async def _queue_depths(http: Any, url: str) -> dict[str, float]:
    """Gauges of the service's ``/metrics`` whose names speak of queues or subscribers, if it has them."""
    with contextlib.suppress(Exception):
        async with http.get(url.removesuffix("/api/v1") + "/metrics") as resp:
            if resp.status == 200:
                depths = {}
                for line in (await resp.text()).splitlines():
                    name, _, value = line.partition(" ")
                    if not line.startswith("#") and ("queue" in name or "subscriber" in name):
                        with contextlib.suppress(ValueError):
                            depths[name] = float(value)
                return depths
    return {}


async def _wait_healthy(http: Any, url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            async with http.get(f"{url}/health") as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the service did not answer within {timeout_s:g} s")


def _stored(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT device_id, count(*) FROM energy_consumption GROUP BY device_id"))


def _verdict(samples: list[dict[str, Any]], warmup_s: float) -> dict[str, Any]:
    last_pid = samples[-1]["pid"]
    own = [s for s in samples if s["pid"] == last_pid]
    steady = [s for s in own if s["t_s"] - own[0]["t_s"] >= warmup_s]
    if len(steady) < 6:
        return {"no_growth": None, "reason": f"{len(steady)} samples after warm-up: too short to judge"}
    third = len(steady) // 3
    head, tail = steady[:third], steady[-third:]
    rss_head = statistics.median(s["rss_mb"] for s in head)
    rss_tail = statistics.median(s["rss_mb"] for s in tail)
    fds_head = statistics.median(s["fds"] for s in head)
    fds_tail = statistics.median(s["fds"] for s in tail)
    threads_head = statistics.median(s["threads"] for s in head)
    threads_tail = statistics.median(s["threads"] for s in tail)
    no_growth = (
        rss_tail <= rss_head * 1.10 + 8 and fds_tail <= fds_head + 5 and threads_tail <= threads_head + 2
    )
    span_h = (tail[-1]["t_s"] - head[0]["t_s"]) / 3600
    return {
        "no_growth": no_growth,
        "rss_mb_first_third": rss_head,
        "rss_mb_last_third": rss_tail,
        "fds_first_third": fds_head,
        "fds_last_third": fds_tail,
        "threads_first_third": threads_head,
        "threads_last_third": threads_tail,
        "judged_wall_h": round(span_h, 3),
    }


PROBE_PATHS = ("/plan", "/status", "/consumption")


def _timeline(
    probes: list[tuple[float, str, float, int]], samples: list[dict[str, Any]], window_s: float
) -> list[dict[str, Any]]:
    """Per window of wall time: the probe's request count, failures and p95 latency, with the last
    sample's RSS and fds in that window."""
    end = max([t for t, *_ in probes] + [s["t_s"] for s in samples], default=0.0)
    rows = []
    start = 0.0
    while start < end:
        stop = start + window_s
        in_window = [(ms, status) for t, _path, ms, status in probes if start <= t < stop]
        ok = sorted(ms for ms, status in in_window if status == 200)
        last = [s for s in samples if start <= s["t_s"] < stop][-1:]
        rows.append(
            {
                "from_min": round(start / 60, 1),
                "requests": len(in_window),
                "failed": sum(status != 200 for _ms, status in in_window),
                "p50_ms": round(ok[len(ok) // 2], 1) if ok else None,
                "p95_ms": round(ok[min(len(ok) - 1, int(len(ok) * 0.95))], 1) if ok else None,
                "rss_mb": last[0]["rss_mb"] if last else None,
                "fds": last[0]["fds"] if last else None,
            }
        )
        start = stop
    return rows


async def _soak(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    total_s = args.minutes * 60
    devices = [f"meter{i:02d}" for i in range(args.devices)]
    plan_every_s = 15 * 60 / args.speed  # one optimisation interval of 15 minutes, compressed
    faults: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    commands: dict[str, str] = {}
    stream_events = [0] * args.subscribers
    stream_connections = [0] * args.subscribers
    plans = {"requested": 0, "refused": 0}
    probes: list[tuple[float, str, float, int]] = []  # (t_s, path, latency ms, status; 0 = no answer)
    with tempfile.TemporaryDirectory(prefix="shems-soak-") as tmp:
        service = Service(Path(tmp), args)
        service.start()
        meters: Meters | None = None
        device_client = None
        try:
            async with aiohttp.ClientSession() as anon:
                await _wait_healthy(anon, service.url)
            headers = {"Authorization": f"Bearer {service.token}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                site = {
                    "timezone": "Europe/Berlin",
                    "price": {"kind": "tou", "periods": [{"start": "00:00", "import_per_kwh": 0.15},
                                                        {"start": "06:00", "import_per_kwh": 0.35}]},
                    "batteries": [{"id": "bat", "name": "Battery", "capacity_kwh": 10, "max_charge_w": 5000,
                                   "max_discharge_w": 5000, "efficiency": 0.95}],
                }  # fmt: skip
                async with http.put(f"{service.url}/site", json=site) as resp:
                    resp.raise_for_status()
                for device in devices:
                    body = {"device_id": device, "name": device.title(), "type": "load",
                            "mqtt": {"state_topic": f"{PREFIX}/meters/{device}/state"}}  # fmt: skip
                    async with http.post(f"{service.url}/devices", json=body) as resp:
                        resp.raise_for_status()
                async with http.post(
                    f"{service.url}/devices",
                    json={"device_id": "boiler", "name": "Boiler", "type": "appliance"},
                ) as resp:
                    resp.raise_for_status()
                device_client = await asyncio.to_thread(
                    _acking_device, args.mqtt_host, args.mqtt_port, "boiler"
                )
                meters = Meters(args.mqtt_host, args.mqtt_port, devices, args.speed / 10.0)
                meters.start()
                started = time.monotonic()
                stop = asyncio.Event()

                async def subscriber(i: int) -> None:
                    while not stop.is_set():
                        try:
                            async with http.ws_connect(f"{service.url}/stream", heartbeat=20) as ws:
                                stream_connections[i] += 1
                                async for _msg in ws:
                                    stream_events[i] += 1
                                    if stop.is_set():
                                        return
                        except (aiohttp.ClientError, OSError):
                            pass
                        await asyncio.sleep(0.5)

                async def planner() -> None:
                    while not stop.is_set():
                        with contextlib.suppress(aiohttp.ClientError, OSError):
                            async with http.post(f"{service.url}/optimize") as resp:
                                plans["requested"] += 1
                                plans["refused"] += resp.status >= 400
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), plan_every_s)

                async def commander() -> None:
                    while not stop.is_set():
                        with contextlib.suppress(aiohttp.ClientError, OSError):
                            body = {"command": "set_power", "payload": {"power_w": 1000}}
                            async with http.post(f"{service.url}/devices/boiler/commands", json=body) as resp:
                                if resp.status < 300:
                                    commands[(await resp.json())["command_id"]] = "created"
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), 3.0)

                async def faults_and_samples() -> None:
                    killed = restarted_broker = False
                    while (elapsed := time.monotonic() - started) < total_s:
                        with contextlib.suppress(OSError, KeyError, ProcessLookupError):
                            sample = _sample(service, started)
                            sample["queues"] = await _queue_depths(http, service.url)
                            samples.append(sample)
                        if not killed and elapsed >= total_s / 4:
                            killed = True
                            service.kill()
                            service.start()
                            await _wait_healthy(http, service.url)
                            down_s = round(time.monotonic() - started - elapsed, 1)
                            faults.append(
                                {
                                    "t_s": round(elapsed, 1),
                                    "fault": "service SIGKILL and restart",
                                    "down_s": down_s,
                                }
                            )
                        if not restarted_broker and elapsed >= total_s / 2 and args.services_ctl:
                            restarted_broker = True
                            await asyncio.to_thread(
                                subprocess.run, [args.services_ctl, "mqtt-stop"], check=True
                            )
                            await asyncio.sleep(3)  # a deliberate outage of a few seconds
                            await asyncio.to_thread(
                                subprocess.run, [args.services_ctl, "mqtt-start"], check=True
                            )
                            faults.append({"t_s": round(elapsed, 1), "fault": "broker stop, 3 s, start"})
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), args.sample_s)
                    stop.set()

                async def prober() -> None:
                    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                    query = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
                    n = 0
                    while not stop.is_set():
                        path = PROBE_PATHS[n % len(PROBE_PATHS)]
                        n += 1
                        t0 = time.monotonic()
                        status = 0
                        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                            params = query if path == "/consumption" else None
                            async with http.get(
                                f"{service.url}{path}", params=params, timeout=aiohttp.ClientTimeout(total=30)
                            ) as resp:
                                await resp.read()
                                status = resp.status
                        probes.append((round(t0 - started, 2), path, (time.monotonic() - t0) * 1000, status))
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), 1.0 / len(PROBE_PATHS))

                tasks = [asyncio.create_task(subscriber(i)) for i in range(args.subscribers)]
                tasks += [asyncio.create_task(planner()), asyncio.create_task(commander())]
                tasks.append(asyncio.create_task(prober()))
                await faults_and_samples()
                await asyncio.to_thread(meters.stop)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                # Let ingestion drain what the broker still holds: wait until the store stops growing.
                db = Path(tmp) / "shems.sqlite3"
                last, steady_since = -1, time.monotonic()
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and time.monotonic() - steady_since < 5:
                    count = sum((await asyncio.to_thread(_stored, db)).values())
                    if count != last:
                        last, steady_since = count, time.monotonic()
                    await asyncio.sleep(0.5)
                for command_id in list(commands):
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with http.get(f"{service.url}/devices/boiler/commands/{command_id}") as resp:
                            if resp.status == 200:
                                commands[command_id] = (await resp.json()).get("status", "unknown")
        finally:
            if meters is not None and meters._thread.is_alive():
                await asyncio.to_thread(meters.stop)
            if device_client is not None:
                device_client.disconnect()
                device_client.loop_stop()
            service.stop()
        stored = _stored(Path(tmp) / "shems.sqlite3")
    assert meters is not None
    acked = meters.acked
    acked_by_broker = sum(acked.values())
    stored_total = sum(stored.get(d, 0) for d in devices)
    statuses: dict[str, int] = {}
    for status in commands.values():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "wall_minutes": args.minutes,
        "simulated_hours": round(args.minutes * args.speed / 60, 2),
        "devices": args.devices,
        "readings_per_s": round(args.devices * args.speed / 10, 1),
        "readings_sent": meters.sent,
        "readings_acked_by_broker": acked_by_broker,
        "readings_stored": stored_total,
        "readings_lost": max(0, acked_by_broker - stored_total),
        "devices_short": sorted(d for d in devices if stored.get(d, 0) < acked[d]),
        "commands": len(commands),
        "command_statuses": statuses,
        "plans_requested": plans["requested"],
        "plans_refused": plans["refused"],
        "stream_subscribers": args.subscribers,
        "stream_events": sum(stream_events),
        "stream_connections": sum(stream_connections),  # each client once, and again after each restart
        "faults": faults,
        "samples": len(samples),
        "first_sample": samples[0] if samples else None,
        "last_sample": samples[-1] if samples else None,
        "max_rss_mb": max((s["rss_mb"] for s in samples), default=None),
        "max_fds": max((s["fds"] for s in samples), default=None),
        "max_spool_files": max((s["spool_files"] for s in samples), default=None),
        "verdict": _verdict(samples, warmup_s=max(10.0, total_s * 0.1)),
        "probe_requests": len(probes),
        "probe_failed": sum(status != 200 for *_, status in probes),
        "probe_statuses": {  # 0: no answer (the service is being restarted)
            f"{path} {status}": sum(1 for _t, p, _ms, st in probes if (p, st) == (path, status))
            for path, status in sorted({(p, st) for _t, p, _ms, st in probes})
        },
        "timeline": _timeline(probes, samples, args.window_min * 60),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(_soak(args))
