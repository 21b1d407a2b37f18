"""`shems-optimizer bench api`: API read latency under concurrent clients, against a bare aiohttp floor.

The service (embedded store, a site, a plan, a device with a day of readings) runs in its own process;
the load comes from another process: ``--clients`` concurrent keep-alive connections, each sending
its next request as soon as the previous answer is read, for ``--seconds`` per endpoint after a
warm-up. The floor is a bare aiohttp handler returning, from memory, the same bytes the endpoint
answered, measured the same way right beside it in the same run, so ``p95_s / floor_p95_s`` says what
the service's own work (auth, rate limit, validation, logging context, the handler) costs.

The machine is shared and its load drifts within seconds, so one floor/service pair can be off by
50 % either way. Each endpoint is therefore measured in ``--rounds`` rounds, floor and service side by
side, in alternating order (floor first in odd rounds, service first in even ones, so a steady drift
does not favour either); a row reports the median over the rounds of each figure and of the per-round
ratio, and lists the per-round ratios. It also gives the CPU time each server process spent per
answered request (``cpu_us_per_request``, ``floor_cpu_us_per_request``): unlike latencies, that
figure barely moves with the machine's other load, so it shows what a code change saves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import TOKEN, bench_service_config, python_env

DEVICE = "fridge"
# Meters of the mixed case, each with two days of 10-s readings (the fridge's first day is the one the
# single-endpoint rows ask for).
MIXED_DEVICES = (DEVICE, "heatpump", "washer", "oven")
MIXED_URLS = 20_000  # distinct consumption questions: none repeats within a run, none is cached


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=200, help="concurrent connections (default 200)")
    parser.add_argument("--seconds", type=float, default=2.0, help="measured seconds per endpoint and round")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds first")
    parser.add_argument("--rounds", type=int, default=7, help="floor/service pairs per endpoint (median)")
    parser.add_argument(
        "--case",
        choices=("all", "plan", "device_status", "consumption_day", "mixed"),
        default="all",
        help="one case only (mixed: plan + uncached consumption queries alternating)",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_http(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:g} s")


def _wait_idle(base: str, timeout_s: float = 300.0) -> None:
    """Wait until the work that follows a plan (the 7-day outlook, in a worker thread) is done: the
    benchmark measures answering requests, not requests competing with an optimisation."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = _request("GET", f"{base}/status")
        outlook = status.get("outlook") or {}
        busy = status.get("optimizer") == "running" or outlook.get("running")
        outlook_done = not outlook or outlook.get("created_at") or outlook.get("error")
        if not busy and outlook_done:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the service was still optimising after {timeout_s:g} s")


def _request(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read() or b"null")


# --------------------------------------------------------------------------------------------------
# Servers (run in their own process: ``python -m shems_bench.api serve|floor ...``)


async def _serve_service(data_dir: Path, port: int) -> None:
    from shems_optimizer.app.records.models import Reading
    from shems_optimizer.runtime.logs import configure_logging
    from shems_optimizer.wiring.process import Service

    configure_logging("warning")
    service = Service(bench_service_config(data_dir, port))
    await service.start()
    assert service.repo is not None and service.devices is not None
    day = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    first = day - timedelta(days=1)
    for n, device_id in enumerate(MIXED_DEVICES):
        readings = [
            Reading(device_id, first + timedelta(seconds=10 * i), power_w=100.0 * (n + 1) + (i % 60))
            for i in range(2 * 8640)
        ]
        await service.devices.register_device(
            {"device_id": device_id, "name": device_id.title(), "type": "load"}
        )
        await asyncio.to_thread(service.repo.write_readings, readings)
        service.devices.record_readings(readings[-1:])
    await asyncio.to_thread(service.repo.refresh_aggregates, first, day + timedelta(days=1))
    await asyncio.Event().wait()


async def _serve_floor(port: int, bodies_dir: Path) -> None:
    """A bare aiohttp handler per endpoint returning, from memory, the very bytes the service answered."""
    from aiohttp import web

    bodies = {path.stem: path.read_bytes() for path in bodies_dir.glob("*.json")}

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bodies[request.match_info["name"]], content_type="application/json")

    app = web.Application()
    app.router.add_get("/floor/{name}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


# --------------------------------------------------------------------------------------------------
# Load generator (own process: ``python -m shems_bench.api load URL CLIENTS SECONDS WARMUP``)


def _kind(url: str) -> str:
    """``plan`` or ``consumption`` (or ``floor/...``): the path's last segment, without the query."""
    return urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]


async def _load(urls: list[str], clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Each client sends the next URL of ``urls`` (cycling) as soon as its previous answer is read."""
    import aiohttp

    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    next_url = 0
    errors = 0
    answered = 0  # with the warm-up: what the server's CPU time is divided by
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal errors, answered, next_url
            while True:
                url = urls[next_url % len(urls)]
                next_url += 1
                began = time.perf_counter()
                if began >= stop_at:
                    return
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        status = resp.status
                except aiohttp.ClientError:
                    errors += 1
                    continue
                ended = time.perf_counter()
                answered += 1
                if began >= measure_from:
                    latencies.append(ended - began)
                    by_kind.setdefault(_kind(url), []).append(ended - began)
                    statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    latencies.sort()

    def pct(q: float, values: list[float] = latencies) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    return {
        "p95_by_kind_s": {kind: round(pct(0.95, sorted(v)), 5) for kind, v in sorted(by_kind.items())},
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_s": round(pct(0.50), 5),
        "p95_s": round(pct(0.95), 5),
        "p99_s": round(pct(0.99), 5),
        "errors": errors,
        "statuses": statuses,
        "answered": answered,
    }


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(urls: list[str], args: argparse.Namespace, server_pid: int) -> dict[str, Any]:
    """Latencies seen by the clients, and the server's CPU time per answered request: the CPU figure
    hardly depends on what else the shared machine runs, the latencies do."""
    cpu_before = process_cpu_s(server_pid)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "shems_bench.api",
            "load",
            "-",
            str(args.clients),
            str(args.seconds),
            str(args.warmup),
        ],
        input="\n".join(urls),
        check=True,
        capture_output=True,
        text=True,
        env=python_env(),
    )
    result: dict[str, Any] = json.loads(out.stdout)
    cpu = process_cpu_s(server_pid) - cpu_before
    result["server_cpu_us_per_request"] = round(cpu * 1e6 / max(1, result["answered"]), 1)
    return result


def _endpoint_row(
    name: str,
    url: list[str],
    floor_url: list[str],
    body_bytes: int,
    args: argparse.Namespace,
    pids: tuple[int, int],
) -> dict[str, Any]:
    """Measure floor and service side by side in ``args.rounds`` rounds; medians of each figure."""
    service_pid, floor_pid = pids
    services: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    for round_no in range(max(1, args.rounds)):
        if round_no % 2 == 0:
            floors.append(_measure(floor_url, args, floor_pid))
            services.append(_measure(url, args, service_pid))
        else:
            services.append(_measure(url, args, service_pid))
            floors.append(_measure(floor_url, args, floor_pid))
    ratios = [round(s["p95_s"] / f["p95_s"], 3) for s, f in zip(services, floors, strict=True)]

    def median(rows: list[dict[str, Any]], key: str) -> float:
        return round(float(statistics.median(float(row[key]) for row in rows)), 5)

    return {
        "endpoint": name,
        "clients": args.clients,
        "body_bytes": body_bytes,
        "rounds": len(services),
        "requests": sum(row["requests"] for row in services),
        "rps": median(services, "rps"),
        "p50_s": median(services, "p50_s"),
        "p95_s": median(services, "p95_s"),
        "p99_s": median(services, "p99_s"),
        "errors": sum(row["errors"] for row in services),
        "statuses": _merged_statuses(services),
        "floor_p50_s": median(floors, "p50_s"),
        "floor_p95_s": median(floors, "p95_s"),
        "floor_p99_s": median(floors, "p99_s"),
        "floor_rps": median(floors, "rps"),
        "p95_over_floor": round(statistics.median(ratios), 3),
        "p95_over_floor_rounds": ratios,
        "cpu_us_per_request": median(services, "server_cpu_us_per_request"),
        "floor_cpu_us_per_request": median(floors, "server_cpu_us_per_request"),
        "p95_by_kind_s": {
            kind: round(float(statistics.median(row["p95_by_kind_s"][kind] for row in services)), 5)
            for kind in services[0]["p95_by_kind_s"]
        },
    }


def _merged_statuses(rows: list[dict[str, Any]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for row in rows:
        for status, count in row["statuses"].items():
            merged[str(status)] = merged.get(str(status), 0) + count
    return merged


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shems-bench-api-") as tmp:
        floor_port, service_port = _free_port(), _free_port()
        floor: subprocess.Popen[bytes] | None = None
        service = subprocess.Popen(
            [sys.executable, "-m", "shems_bench.api", "serve", tmp, str(service_port)],
            env=python_env(),
        )
        try:
            base = f"http://127.0.0.1:{service_port}/api/v1"
            _wait_http(f"{base}/health")
            site = {
                "timezone": "Europe/Paris",
                "price": {
                    "kind": "tou",
                    "periods": [
                        {"start": "00:00", "import_per_kwh": 0.15},
                        {"start": "06:00", "import_per_kwh": 0.35},
                    ],
                },
                "batteries": [
                    {
                        "id": "bat",
                        "name": "Battery",
                        "capacity_kwh": 10,
                        "max_charge_w": 5000,
                        "max_discharge_w": 5000,
                        "efficiency": 0.95,
                    }
                ],
                "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 120}],
            }
            _request("PUT", f"{base}/site", site)
            _request("POST", f"{base}/optimize")
            _wait_idle(base)
            for _ in range(100):  # the device and its readings are added by the server after start-up
                devices = _request("GET", f"{base}/devices")["devices"]
                if devices and devices[0]["status"] is not None:
                    break
                time.sleep(0.2)
            day = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
            query = urllib.parse.urlencode(
                {
                    "start": day.isoformat(),
                    "end": (day + timedelta(days=1)).isoformat(),
                    "granularity": "hour",
                    "device": DEVICE,
                }
            )
            targets = {
                "plan": f"{base}/plan",
                "device_status": f"{base}/devices/{DEVICE}/status",
                "consumption_day": f"{base}/consumption?{query}",
            }
            bodies = Path(tmp) / "floor-bodies"
            bodies.mkdir()
            for name, url in targets.items():
                req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
                with urllib.request.urlopen(req, timeout=60) as resp:
                    (bodies / f"{name}.json").write_bytes(resp.read())
            floor = subprocess.Popen(
                [sys.executable, "-m", "shems_bench.api", "floor", str(floor_port), str(bodies)],
                env=python_env(),
            )
            _wait_http(f"http://127.0.0.1:{floor_port}/floor/plan")
            cases = {
                name: ([url], [f"http://127.0.0.1:{floor_port}/floor/{name}"], name)
                for name, url in targets.items()
                if args.case in ("all", name)
            }
            if args.case in ("all", "mixed"):
                mixed, floor_mixed = _mixed_urls(base, f"http://127.0.0.1:{floor_port}/floor", day)
                cases["mixed_plan_consumption_uncached"] = (mixed, floor_mixed, "consumption_day")
            for name, (urls, floor_urls, body_name) in cases.items():
                rows.append(
                    _endpoint_row(
                        name,
                        urls,
                        floor_urls,
                        (bodies / f"{body_name}.json").stat().st_size,
                        args,
                        (service.pid, floor.pid),
                    )
                )
        finally:
            for proc in (service, floor):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=30)
    return rows


def _mixed_urls(base: str, floor_base: str, day: datetime) -> tuple[list[str], list[str]]:
    """Plan and consumption requests alternating; every consumption question is different (start and
    length in 15-minute steps over two days, one meter or the whole home, three granularities), so
    none is answered from the service's cache. The floor answers the same sequence from memory."""
    import random

    rng = random.Random(7)
    first = day - timedelta(days=1)
    seen: set[str] = set()
    urls: list[str] = []
    floor_urls: list[str] = []
    while len(seen) < MIXED_URLS:
        granularity = rng.choice(("15min", "hour", "day"))
        start = first + timedelta(minutes=15 * rng.randrange(0, 4 * 36))
        end = start + timedelta(minutes=15 * rng.randrange(4, 4 * 12 + 1))
        params = {"start": start.isoformat(), "end": end.isoformat(), "granularity": granularity}
        device = rng.choice((*MIXED_DEVICES, None))
        if device is not None:
            params["device"] = device
        query = urllib.parse.urlencode(params)
        if query in seen:
            continue
        seen.add(query)
        urls += [f"{base}/plan", f"{base}/consumption?{query}"]
        floor_urls += [f"{floor_base}/plan", f"{floor_base}/consumption_day?{query}"]
    return urls, floor_urls


def _main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "serve":
        asyncio.run(_serve_service(Path(argv[1]), int(argv[2])))
    elif mode == "floor":
        asyncio.run(_serve_floor(int(argv[1]), Path(argv[2])))
    elif mode == "load":
        urls = sys.stdin.read().split() if argv[1] == "-" else [argv[1]]
        print(json.dumps(asyncio.run(_load(urls, int(argv[2]), float(argv[3]), float(argv[4])))))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    _main(sys.argv[1:])
