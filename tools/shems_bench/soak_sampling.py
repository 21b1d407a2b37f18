"""What the soak measures: the service process's resources, the service's own gauges and counters, the
growth verdict and the probe's latency per window."""

from __future__ import annotations

import contextlib
import statistics
import time
from pathlib import Path
from typing import Any

from .api import process_cpu_s
from .soak_service import Service

PROBE_PATHS = ("/plan", "/status", "/consumption")


def sample(service: Service, started: float) -> dict[str, Any]:
    """RSS, threads, open fds and CPU of the service process, and its spool's files."""
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


async def metrics(http: Any, url: str) -> dict[str, float]:
    """The service's ``/metrics`` samples by name (with labels), or nothing when it does not answer."""
    values: dict[str, float] = {}
    with contextlib.suppress(Exception):
        async with http.get(f"{url}/metrics") as resp:
            if resp.status == 200:
                for line in (await resp.text()).splitlines():
                    name, _, value = line.rpartition(" ")
                    if line and not line.startswith("#"):
                        with contextlib.suppress(ValueError):
                            values[name] = float(value)
    return values


def queue_depths(values: dict[str, float]) -> dict[str, float]:
    """The gauges whose names speak of queues, spool segments or subscribers."""
    words = ("queue", "subscriber", "spool_segments")
    return {name: v for name, v in values.items() if any(w in name for w in words)}


def counter(values: dict[str, float], name: str) -> float:
    """The sum of a counter over its labels (``name`` without ``_total``)."""
    return sum(v for k, v in values.items() if k.split("{", 1)[0] == f"{name}_total")


def verdict(samples: list[dict[str, Any]], warmup_s: float) -> dict[str, Any]:
    """The last process's samples after its warm-up: first third against last third."""
    last_pid = samples[-1]["pid"]
    own = [s for s in samples if s["pid"] == last_pid]
    steady = [s for s in own if s["t_s"] - own[0]["t_s"] >= warmup_s]
    if len(steady) < 6:
        return {"no_growth": None, "reason": f"{len(steady)} samples after warm-up: too short to judge"}
    third = len(steady) // 3
    head, tail = steady[:third], steady[-third:]
    med = {
        f"{key}_{part}": statistics.median(s[key] for s in rows)
        for key in ("rss_mb", "fds", "threads")
        for part, rows in (("first_third", head), ("last_third", tail))
    }
    no_growth = (
        med["rss_mb_last_third"] <= med["rss_mb_first_third"] * 1.10 + 8
        and med["fds_last_third"] <= med["fds_first_third"] + 5
        and med["threads_last_third"] <= med["threads_first_third"] + 2
    )
    cpu_s = tail[-1]["cpu_s"] - head[0]["cpu_s"]
    span_s = tail[-1]["t_s"] - head[0]["t_s"]
    return {
        "no_growth": no_growth,
        **med,
        "judged_wall_h": round(span_s / 3600, 3),
        "cpu_s_judged": round(cpu_s, 1),
        "cpu_share_of_a_core": round(cpu_s / span_s, 4) if span_s > 0 else None,
    }


def timeline(
    probes: list[tuple[float, str, float, int]], samples: list[dict[str, Any]], window_s: float
) -> list[dict[str, Any]]:
    """Per window of wall time: the probe's request count, failures and p50/p95 latency, with the last
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
