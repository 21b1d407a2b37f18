"""`shems-optimizer bench ingest`: sustained MQTT -> TimescaleDB ingestion with a loss count.

A publisher process sends SHEMS JSON batch messages (``--readings-per-message`` readings of one device
each, QoS 1) on loopback for ``--duration`` seconds. ``--ingesters`` processes, each running the real
pipeline and :class:`~shems_optimizer.adapters.ingest.mqtt.MqttIngester` (as the add-on does) subscribed to
its share of the device topics (``bench/<device>``; a device's messages always reach the same process, so
per-device ordering holds), store them in a fresh TimescaleDB database. Figures: readings/s over the
whole run (first publish to last row committed) and per one-second window, plus the proof of nothing
lost — readings the broker acknowledged to the publisher vs rows counted in the database (the unique
(time, device) index rules out duplicates).

By default the benchmark starts its own Mosquitto with settings for a high-rate QoS 1 stream
(unlimited in-flight and queued messages for the ingester's persistent session); ``--broker env`` uses
the broker of the test environment instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from shems_optimizer.adapters.ingest.mappings import TopicBinding
from shems_optimizer.adapters.ingest.mqtt import MqttConnection, MqttIngester
from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline
from shems_optimizer.adapters.store import TimescaleConfig, TimescaleRepository
from shems_optimizer.app.records.models import Device, DeviceType, Home

_BROKER_CONF = """listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_inflight_messages 0
max_queued_messages 0
max_queued_bytes 0
message_size_limit 0
log_dest stderr
log_type error
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=float, default=60.0, help="publishing time in seconds (default 60)"
    )
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--readings-per-message", type=int, default=100)
    parser.add_argument("--publishers", type=int, default=1, help="publisher processes")
    parser.add_argument(
        "--ingesters",
        type=int,
        default=2,
        help="ingester processes, each subscribed to its share of device topics",
    )
    parser.add_argument("--batch-size", type=int, default=10_000, help="readings per store transaction")
    parser.add_argument(
        "--rate",
        type=float,
        default=150_000.0,
        help="cap on readings/s published (0: as fast as possible); the default sits a little above what "
        "this machine ingests, so the run is sustained load without an ever-growing broker backlog",
    )
    parser.add_argument("--broker", choices=["own", "env"], default="own")
    parser.add_argument(
        "--dsn", default=os.environ.get("SHEMS_TEST_PG_DSN", ""), help="PostgreSQL superuser DSN"
    )


@dataclass(frozen=True)
class _PublishPlan:
    host: str
    port: int
    devices: list[str]
    readings_per_message: int
    duration_s: float
    rate: float
    t0: float


def _publisher(plan: _PublishPlan, results: Any) -> None:
    """Publish batches round-robin over the devices; count messages the broker acknowledged."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(4000)
    acked = [0]
    client.on_publish = lambda *_args: acked.__setitem__(0, acked[0] + 1)
    client.connect(plan.host, plan.port, keepalive=60)
    client.loop_start()
    n = plan.readings_per_message
    seq = {d: 0 for d in plan.devices}
    sent_messages = 0
    start = time.monotonic()
    deadline = start + plan.duration_s
    infos = []
    while time.monotonic() < deadline:
        for device in plan.devices:
            base = seq[device]
            seq[device] = base + n
            body = ",".join(
                f'{{"time":{plan.t0 + (base + i) * 0.01:.2f},"power_w":{(base + i) % 5000 / 2:.1f}}}'
                for i in range(n)
            )
            payload = f'{{"device":"{device}","readings":[{body}]}}'
            while True:
                info = client.publish(f"bench/{device}", payload, qos=1)
                if info.rc == mqtt.MQTT_ERR_SUCCESS:
                    break
                time.sleep(0.001)  # local queue full: wait for acknowledgements
            infos.append(info)
            sent_messages += 1
            if plan.rate > 0:
                ahead = sent_messages * n / plan.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            if time.monotonic() >= deadline:
                break
    for info in infos:
        info.wait_for_publish(timeout=120)
    published = sum(1 for info in infos if info.is_published())
    elapsed = time.monotonic() - start
    client.disconnect()
    client.loop_stop()
    results.put(
        {
            "messages": sent_messages,
            "acked_messages": published,
            "readings": published * n,
            "seconds": elapsed,
        }
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(_BROKER_CONF.format(port=port))
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([mosquitto, "-c", str(conf)])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("benchmark broker did not start")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.dsn:
        raise SystemExit("bench ingest needs a PostgreSQL superuser DSN (--dsn or SHEMS_TEST_PG_DSN)")
    dbname = f"shems_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    dsn = make_conninfo(args.dsn, dbname=dbname)
    workdir = Path(tempfile.mkdtemp(prefix="shems-bench-ingest-"))
    broker = None
    try:
        if args.broker == "own":
            broker, port = _start_broker(workdir)
            host = "127.0.0.1"
        else:
            host, port = os.environ["SHEMS_TEST_MQTT_HOST"], int(os.environ["SHEMS_TEST_MQTT_PORT"])
        return _run(args, dsn, host, port, workdir)
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _ingester_process(
    dsn: str,
    host: str,
    port: int,
    devices: list[str],
    spool: Path,
    batch_size: int,
    stored: Any,
    ready: Any,
    stop: Any,
    final: Any,
) -> None:
    """One ingester process (pipeline + MQTT ingester, as in the add-on) for a share of the devices."""
    repo = TimescaleRepository.open(TimescaleConfig(dsn, max_connections=2))
    pipeline = TelemetryPipeline(
        repo, PipelineConfig(spool_dir=spool, batch_size=batch_size, queue_max_messages=5000)
    )
    pipeline.start()
    ingester = MqttIngester(
        MqttConnection(host, port, client_id=f"shems-bench-{uuid.uuid4().hex[:6]}"),
        [TopicBinding(f"bench/{device}") for device in devices],
        pipeline,
    )
    ingester.start()
    if not ingester.connected.wait(10):
        raise RuntimeError("ingester did not connect to the broker")
    time.sleep(0.5)  # subscriptions in place
    ready.release()
    while not stop.wait(0.2):
        stored.value = pipeline.counts().readings_stored
    ingester.stop()
    pipeline.stop()
    stored.value = pipeline.counts().readings_stored
    final.put(dataclasses.asdict(pipeline.counts()))
    repo.close()


def _run(args: argparse.Namespace, dsn: str, host: str, port: int, workdir: Path) -> dict[str, Any]:
    repo = TimescaleRepository.open(TimescaleConfig(dsn, max_connections=2))
    repo.upsert_home(Home("bench", "bench"))
    devices = [f"bench-{i:03d}" for i in range(args.devices)]
    for device in devices:
        repo.upsert_device(Device(device, "bench", DeviceType.LOAD, device))
    ctx = multiprocessing.get_context("fork")
    ready, stop, final = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    stored_values = [ctx.Value("q", 0) for _ in range(args.ingesters)]
    ingesters = [
        ctx.Process(
            target=_ingester_process,
            args=(
                dsn,
                host,
                port,
                devices[i :: args.ingesters],
                workdir / f"spool-{i}",
                args.batch_size,
                stored_values[i],
                ready,
                stop,
                final,
            ),
        )
        for i in range(args.ingesters)
    ]
    for proc in ingesters:
        proc.start()
    for _ in ingesters:
        if not ready.acquire(timeout=30):
            raise RuntimeError("an ingester process did not start")

    def stored_total() -> int:
        return sum(v.value for v in stored_values)

    results = ctx.Queue()
    t0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    share = [devices[i :: args.publishers] for i in range(args.publishers)]
    procs = [
        ctx.Process(
            target=_publisher,
            args=(
                _PublishPlan(
                    host,
                    port,
                    share[i],
                    args.readings_per_message,
                    args.duration,
                    args.rate / args.publishers,
                    t0 + i * 1e6,
                ),
                results,
            ),
        )
        for i in range(args.publishers)
    ]
    samples: list[tuple[float, int]] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.is_set():
            samples.append((time.monotonic(), stored_total()))
            time.sleep(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.monotonic()
    sampler.start()
    for p in procs:
        p.start()
    published = [results.get() for _ in procs]
    for p in procs:
        p.join()
    acked_readings = sum(r["readings"] for r in published)
    deadline = time.monotonic() + 600
    while stored_total() < acked_readings and time.monotonic() < deadline:
        time.sleep(0.05)
    finished = time.monotonic()
    stop_sampling.set()
    sampler.join()
    stop.set()
    counts = [final.get(timeout=60) for _ in ingesters]
    for proc in ingesters:
        proc.join(30)
    stored_rows = repo.count_readings()
    repo.close()
    publish_seconds = max(r["seconds"] for r in published)
    total_seconds = finished - started
    per_second = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples) if b[0] - a[0] > 0]
    steady = per_second[1:-1] or per_second
    return {
        "benchmark": "mqtt_to_timescaledb_ingestion",
        "devices": args.devices,
        "readings_per_message": args.readings_per_message,
        "publishers": args.publishers,
        "qos": 1,
        "publish_seconds": round(publish_seconds, 2),
        "total_seconds": round(total_seconds, 2),
        "messages_published": sum(r["messages"] for r in published),
        "messages_acked_by_broker": sum(r["acked_messages"] for r in published),
        "readings_acked_by_broker": acked_readings,
        "ingester_processes": args.ingesters,
        "readings_stored_by_ingesters": sum(c["readings_stored"] for c in counts),
        "rows_in_database": stored_rows,
        "lost": acked_readings - stored_rows,
        "events_per_s": round(stored_rows / total_seconds, 1),
        "events_per_s_1s_windows_median": round(statistics.median(steady), 1) if steady else None,
        "events_per_s_1s_windows_min": round(min(steady), 1) if steady else None,
        "malformed": sum(c["malformed_messages"] + c["malformed_readings"] for c in counts),
        "duplicates_skipped": sum(c["duplicates"] + c["out_of_order"] for c in counts),
        "batch_size": args.batch_size,
    }
