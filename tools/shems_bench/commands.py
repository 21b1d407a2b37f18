"""`shems-optimizer bench commands`: latency from ``POST /devices/{id}/commands`` to ``acked``.

The service runs with the embedded store and the MQTT broker given (default: the test environment's
``SHEMS_TEST_MQTT_HOST``/``PORT``); a simulated device on its own paho client acks every command at
once. By default the service runs in its own process, as it does in the add-on, while the HTTP client
and the device share the benchmark's process; ``--in-process`` puts the service into that process too
(one interpreter lock for client, device and service: the method of the earlier figures).
The clock stops when the stream reports the command ``acked`` — that event is sent
after the ack has been written to the store. ``--concurrency`` commands are in flight at a time.
``cpu_ms_per_command`` is the service process's CPU time per command (with ``--in-process``: the
whole benchmark process's), a figure the machine's other load hardly moves.

The commands are sent in ``--rounds`` consecutive rounds of ``--count`` each against the same running
service; the machine is shared and a single round can catch a burst of someone else's work, so the
result gives every round's percentiles and their medians (``p95_s`` is the median of the rounds'
p95), next to the percentiles over all commands together (``all``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from . import TOKEN, bench_service_config, python_env
from .api import process_cpu_s


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=1000, help="commands per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --count commands (default 3)")
    parser.add_argument("--concurrency", type=int, default=1, help="commands in flight at once (default 1)")
    parser.add_argument(
        "--in-process", action="store_true", help="run the service in the benchmark's own process"
    )
    parser.add_argument("--mqtt-host", default=os.environ.get("SHEMS_TEST_MQTT_HOST", "127.0.0.1"))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("SHEMS_TEST_MQTT_PORT", "1883")))


def _device(host: str, port: int, device_id: str) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{device_id}", protocol=mqtt.MQTTv5)
    subscribed = threading.Event()
    ack_topic = f"shems/devices/{device_id}/ack"

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        command = json.loads(msg.payload)
        client.publish(ack_topic, json.dumps({"command_id": command["command_id"], "status": "ok"}), qos=1)

    client.on_message = on_message
    # Like the firmware of real devices, answer without Nagle's delay.
    client.on_socket_open = _no_delay
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(host, port, keepalive=30)
    client.loop_start()
    client.subscribe(f"shems/devices/{device_id}/command", qos=1)
    if not subscribed.wait(10):
        raise RuntimeError("the simulated device could not subscribe")
    return client


async def _bench(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    from shems_optimizer.runtime.logs import configure_logging

    configure_logging("warning")
    device = await asyncio.to_thread(_device, args.mqtt_host, args.mqtt_port, "bench-dev")
    rounds: list[list[float]] = []
    cpu_ms: list[float] = []  # CPU milliseconds per command, per round
    statuses: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="shems-bench-cmd-") as tmp:
        service = _in_process(Path(tmp), args) if args.in_process else _own_process(Path(tmp), args)
        async with service as (base_url, server_pid):
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                async with http.post(
                    f"{base_url}/api/v1/devices",
                    json={"device_id": "bench-dev", "name": "Bench", "type": "appliance"},
                ) as r:
                    r.raise_for_status()
                # command id -> (final status, when the stream said so). The final event can arrive
                # before the POST's answer has been read, so whichever comes first makes the entry.
                done: dict[str, asyncio.Future[tuple[str, float]]] = {}
                loop = asyncio.get_running_loop()
                async with http.ws_connect(f"{base_url}/api/v1/stream") as ws:

                    async def listen() -> None:
                        async for msg in ws:
                            event = json.loads(msg.data)
                            if event["type"] != "command_status":
                                continue
                            data = event["data"]
                            if data["status"] not in ("acked", "failed", "expired"):
                                continue
                            future = done.setdefault(data["command_id"], loop.create_future())
                            if not future.done():
                                future.set_result((data["status"], time.perf_counter()))

                    listener = asyncio.create_task(listen())
                    semaphore = asyncio.Semaphore(args.concurrency)

                    async def one(latencies: list[float]) -> None:
                        async with semaphore:
                            began = time.perf_counter()
                            async with http.post(
                                f"{base_url}/api/v1/devices/bench-dev/commands",
                                json={"command": "set_power", "payload": {"power_w": 1000}},
                            ) as r:
                                record = await r.json()
                            future = done.setdefault(record["command_id"], loop.create_future())
                            status, finished = await asyncio.wait_for(future, timeout=30)
                            latencies.append(finished - began)
                            statuses[status] = statuses.get(status, 0) + 1

                    for _ in range(max(1, args.rounds)):
                        latencies: list[float] = []
                        cpu_before = process_cpu_s(server_pid)
                        await asyncio.gather(*(one(latencies) for _ in range(args.count)))
                        cpu_ms.append((process_cpu_s(server_pid) - cpu_before) * 1000 / args.count)
                        rounds.append(latencies)
                    listener.cancel()
    await asyncio.to_thread(_stop, device)
    per_round = [_percentiles(latencies) for latencies in rounds]
    return {
        "commands": sum(len(latencies) for latencies in rounds),
        "concurrency": args.concurrency,
        "rounds": len(rounds),
        "statuses": statuses,
        **{key: round(statistics.median(r[key] for r in per_round), 5) for key in PERCENTILES},
        "p95_s_rounds": [r["p95_s"] for r in per_round],
        "all": _percentiles([x for latencies in rounds for x in latencies]),
        "cpu_ms_per_command": round(statistics.median(cpu_ms), 3),
        "cpu_of": "the benchmark's whole process (service, client and device)"
        if args.in_process
        else "the service process",
    }


PERCENTILES = ("p50_s", "p95_s", "p99_s", "max_s")


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 5)

    return {"p50_s": pct(0.50), "p95_s": pct(0.95), "p99_s": pct(0.99), "max_s": round(ordered[-1], 5)}


@contextlib.asynccontextmanager
async def _in_process(data_dir: Path, args: argparse.Namespace) -> AsyncIterator[tuple[str, int]]:
    from shems_optimizer.wiring.testing import running_service

    async with running_service(
        data_dir,
        token=TOKEN,
        mqtt_host=args.mqtt_host,
        mqtt_port=args.mqtt_port,
        rate_limit_per_min=10**9,
    ) as svc:
        assert svc.service is not None and svc.service.mqtt is not None
        await asyncio.wait_for(svc.service.mqtt.connected.wait(), timeout=10)
        yield svc.url, os.getpid()


@contextlib.asynccontextmanager
async def _own_process(data_dir: Path, args: argparse.Namespace) -> AsyncIterator[tuple[str, int]]:
    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = python_env()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shems_bench.commands",
        str(data_dir),
        str(port),
        args.mqtt_host,
        str(args.mqtt_port),
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/api/v1/health") as resp:
                        if (await resp.json())["components"].get("mqtt", {}).get("ok"):
                            break
                if proc.returncode is not None:
                    raise RuntimeError(f"the service process ended with {proc.returncode}")
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the service did not connect to the MQTT broker within 60 s")
        yield url, proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


async def _serve(data_dir: Path, port: int, mqtt_host: str, mqtt_port: int) -> None:
    """The service alone in this process, until SIGTERM."""
    from shems_optimizer.app.config import MqttConfig
    from shems_optimizer.runtime.logs import configure_logging
    from shems_optimizer.wiring.process import Service

    configure_logging("warning")
    service = Service(bench_service_config(data_dir, port, mqtt=MqttConfig(host=mqtt_host, port=mqtt_port)))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await service.start()
    await stop.wait()
    await service.stop()


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _stop(client: Any) -> None:
    client.disconnect()
    client.loop_stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(_bench(args))


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
