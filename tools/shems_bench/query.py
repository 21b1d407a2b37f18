"""`shems-optimizer bench query`: consumption aggregation latency over 90 days of 10-second telemetry.

Generates ``--days`` x ``--devices`` readings at ``--step-s`` resolution (90 x 50 x 10 s = 38.9 M rows)
inside TimescaleDB with ``generate_series`` (one statement per day), brings the roll-ups up to date, then
times, ``--repeat`` times each:

* ``hourly`` — hourly consumption of every device over the whole period (one query, 108,000 buckets);
* ``daily_utc`` — daily consumption for a UTC home (served by the daily roll-up);
* ``daily_paris`` — daily consumption in Europe/Paris local days (built from the hourly roll-up);
* ``hourly_total`` / ``daily_paris_total`` — the same, summed over the devices (``total=True``: the
  home's consumption, one row per bucket);
* ``hourly_one_device`` — one device's hourly series (the common API call).

For each: p50/p95 of the SQL the repository runs (``sql_*``) and of the whole
``Repository.consumption`` call, which adds turning rows into Python objects (``api_*``). A single scan of
the raw hypertable with the same hourly ``time_bucket`` is timed once for comparison.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from shems_optimizer.adapters.store import TimescaleConfig, TimescaleRepository
from shems_optimizer.adapters.store.rollups import refresh_pending
from shems_optimizer.app.records.models import Device, DeviceType, Granularity, Home
from shems_optimizer.app.records.repository import ConsumptionQuery


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--step-s", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--dsn", default=os.environ.get("SHEMS_TEST_PG_DSN", ""), help="PostgreSQL superuser DSN"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--database", help="reuse this database from an earlier --keep run (no generation)")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_s": round(statistics.median(ordered), 4), "p95_s": round(p95, 4)}


def _time(repeat: int, call: Callable[[], Any]) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return samples, result


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.dsn:
        raise SystemExit("bench query needs a PostgreSQL superuser DSN (--dsn or SHEMS_TEST_PG_DSN)")
    dbname = args.database or f"shems_bench_query_{uuid.uuid4().hex[:8]}"
    if not args.database:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    dsn = make_conninfo(args.dsn, dbname=dbname)
    try:
        return _run(args, dsn)
    finally:
        if not args.keep and not args.database:
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _run(args: argparse.Namespace, dsn: str) -> dict[str, Any]:
    repo = TimescaleRepository.open(TimescaleConfig(dsn, max_connections=2))
    try:
        return _measure(args, dsn, repo)
    finally:
        repo.close()


def _measure(args: argparse.Namespace, dsn: str, repo: TimescaleRepository) -> dict[str, Any]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=args.days)
    devices = [f"bench-{i:03d}" for i in range(args.devices)]
    repo.upsert_home(Home("utc", "UTC home", "UTC"))
    repo.upsert_home(Home("paris", "Paris home", "Europe/Paris"))
    for device in devices:
        repo.upsert_device(Device(device, "utc", DeviceType.LOAD, device))

    generated_at = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        already = conn.execute("SELECT EXISTS (SELECT 1 FROM energy_consumption)").fetchone()
        for day in range(0 if already and already[0] else args.days):
            lo = start + timedelta(days=day)
            # A daily load shape per device: base + a sine over the day, a few devices exporting (PV-like).
            conn.execute(
                """
                INSERT INTO energy_consumption (time, device_id, power_w)
                SELECT t, 'bench-' || lpad(d::text, 3, '0'),
                       CASE WHEN d %% 10 = 9
                            THEN -greatest(0, 3000 * sin(pi() * (extract(hour FROM t) - 6) / 12))
                            ELSE 200 + 50 * d + 500 * sin(extract(epoch FROM t) / 3600.0) END
                FROM generate_series(%(lo)s::timestamptz,
                                     %(hi)s::timestamptz - %(step)s * interval '1 second',
                                     %(step)s * interval '1 second') AS t
                CROSS JOIN generate_series(0, %(n)s - 1) AS d
                """,
                {"lo": lo, "hi": lo + timedelta(days=1), "step": args.step_s, "n": args.devices},
            )
        conn.execute("INSERT INTO rollup_invalidations (lo, hi) VALUES (%s, %s)", (start, end))
        generate_s = time.perf_counter() - generated_at
        rolled_at = time.perf_counter()
        refresh_pending(conn)
        rollup_s = time.perf_counter() - rolled_at
        conn.execute("VACUUM ANALYZE")
        rows = conn.execute("SELECT count(*) FROM energy_consumption").fetchone()
        hourly_rows = conn.execute("SELECT count(*) FROM energy_hourly").fetchone()
        size = conn.execute("SELECT pg_size_pretty(hypertable_size('energy_consumption'))").fetchone()

    cases: dict[str, ConsumptionQuery] = {
        "hourly": ConsumptionQuery(start, end, Granularity.HOUR, tuple(devices), timezone="UTC"),
        "daily_utc": ConsumptionQuery(start, end, Granularity.DAY, tuple(devices), timezone="UTC"),
        "daily_paris": ConsumptionQuery(start, end, Granularity.DAY, tuple(devices), timezone="Europe/Paris"),
        "hourly_total": ConsumptionQuery(
            start, end, Granularity.HOUR, tuple(devices), timezone="UTC", total=True
        ),
        "daily_paris_total": ConsumptionQuery(
            start, end, Granularity.DAY, tuple(devices), timezone="Europe/Paris", total=True
        ),
        "hourly_one_device": ConsumptionQuery(
            start, end, Granularity.HOUR, tuple(devices[:1]), timezone="UTC"
        ),
    }
    results: dict[str, Any] = {}
    for name, query in cases.items():
        repo.consumption(query)  # warm the cache once
        sql_samples, _ = _time(args.repeat, functools.partial(_sql_only, repo, query))
        api_samples, buckets = _time(args.repeat, functools.partial(repo.consumption, query))
        results[name] = {
            "buckets": len(buckets),
            **{f"sql_{k}": v for k, v in _percentiles(sql_samples).items()},
            **{f"api_{k}": v for k, v in _percentiles(api_samples).items()},
        }
    with psycopg.connect(dsn) as conn:
        raw_at = time.perf_counter()
        conn.execute(
            "SELECT device_id, time_bucket('1 hour', time) AS b, avg(power_w) FROM energy_consumption "
            "WHERE time >= %s AND time < %s GROUP BY device_id, b",
            (start, end),
        ).fetchall()
        raw_s = time.perf_counter() - raw_at
    return {
        "benchmark": "consumption_aggregation_90_days",
        "rows": int(rows[0]) if rows else 0,
        "devices": args.devices,
        "days": args.days,
        "step_s": args.step_s,
        "hypertable_size": size[0] if size else None,
        "hourly_rollup_rows": int(hourly_rows[0]) if hourly_rows else 0,
        "generate_s": round(generate_s, 1),
        "rollup_refresh_s": round(rollup_s, 1),
        "repeat": args.repeat,
        **results,
        "raw_scan_hourly_s": round(raw_s, 2),
    }


def _sql_only(repo: TimescaleRepository, query: ConsumptionQuery) -> int:
    """The repository's aggregate query alone (no conversion into ConsumptionBucket objects)."""
    return len(
        repo._aggregate(query.device_ids, query.start, query.end, query.granularity, query.timezone or "UTC")
    )
