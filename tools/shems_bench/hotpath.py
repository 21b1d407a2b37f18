"""`shems-optimizer bench hotpath`: per-call cost of pieces every request or log line passes through.

* ``rate_limit``: the API's token bucket (:class:`shems_optimizer.api.ratelimit.RateLimiter`) against
  aiolimiter's ``AsyncLimiter`` doing the same admission check (one limiter per client,
  ``has_capacity`` then ``acquire``), over 50 client keys, once with room for every request and once
  with most refused. The figure behind keeping the hand-written bucket.
* ``json_log_line``: one INFO line with four extra fields and a correlation id through the service's
  :class:`~shems_optimizer.runtime.logs.JsonFormatter` (python-json-logger), formatting only.

Medians of ``--repeats`` runs of ``--calls`` calls each, in nanoseconds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

from aiolimiter import AsyncLimiter

from shems_optimizer.api.ratelimit import RateLimiter
from shems_optimizer.runtime.logs import JsonFormatter, correlation

CLIENTS = 50
LINES = 50_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", type=int, default=200_000, help="calls per run (default 200000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs (median reported)")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    calls, repeats = max(1000, args.calls), max(1, args.repeats)
    keys = [f"anonymous:10.0.0.{i % CLIENTS}" for i in range(calls)]
    rows = []
    for label, per_minute in (("all_allowed", 10**9), ("mostly_refused", 100)):
        rows.append(
            {
                "case": f"rate_limit_{label}",
                "hand_written_ns": _median(repeats, functools.partial(_bucket, keys, per_minute)),
                "aiolimiter_ns": _median(repeats, functools.partial(_run_aiolimiter, keys, per_minute)),
                "calls": calls,
            }
        )
    rows.append(
        {"case": "json_log_line", "python_json_logger_ns": _median(repeats, _log_lines), "calls": LINES}
    )
    return rows


def _median(repeats: int, once: Callable[[], float]) -> float:
    return round(statistics.median(once() for _ in range(repeats)))


def _bucket(keys: list[str], per_minute: int) -> float:
    limiter = RateLimiter(per_minute)
    began = time.perf_counter()
    for key in keys:
        limiter.check(key)
    return (time.perf_counter() - began) / len(keys) * 1e9


def _run_aiolimiter(keys: list[str], per_minute: int) -> float:
    return asyncio.run(_aiolimiter(keys, per_minute))


async def _aiolimiter(keys: list[str], per_minute: int) -> float:
    limiters: dict[str, AsyncLimiter] = {}

    async def check(key: str) -> float | None:
        limiter = limiters.get(key)
        if limiter is None:
            limiter = limiters[key] = AsyncLimiter(per_minute, 60)
        if limiter.has_capacity():
            await limiter.acquire()
            return None
        return 60.0 / per_minute  # an upper bound: the level it would need is private

    began = time.perf_counter()
    for key in keys:
        await check(key)
    return (time.perf_counter() - began) / len(keys) * 1e9


def _log_lines() -> float:
    formatter = JsonFormatter()
    record = logging.LogRecord("shems_optimizer.api", logging.INFO, __file__, 1, "POST %s -> %d", None, None)
    record.args = ("/api/v1/devices/dw/commands", 201)
    for key, value in (("method", "POST"), ("path", "/api/v1/devices/dw/commands"), ("status", 201)):
        setattr(record, key, value)
    record.duration_ms = 1.234
    with correlation():
        began = time.perf_counter()
        for _ in range(LINES):
            formatter.format(record)
        return (time.perf_counter() - began) / LINES * 1e9
