"""The soak's faults: the service killed (SIGKILL) and started again, the broker stopped and started,
PostgreSQL stopped and started (``--storage timescaledb``); each reports when and how long recovery
took. The broker and PostgreSQL are stopped and started with the environment's control script
(``SHEMS_TEST_SERVICES_CTL``: ``mqtt-stop``/``mqtt-start``, ``pg-stop``/``pg-crash``/``pg-start``,
PostgreSQL with ``pg_ctl stop -m fast`` or ``-m immediate`` and ``pg_ctl start``)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from .soak_sampling import counter, metrics
from .soak_service import Service


async def _ctl(ctl: str, action: str) -> None:
    await asyncio.to_thread(subprocess.run, [ctl, action], check=True, timeout=120)


async def wait_healthy(http: Any, url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            async with http.get(f"{url}/health") as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the service did not answer within {timeout_s:g} s")


async def readiness(http: Any, url: str) -> tuple[int, dict[str, Any]]:
    """``/health/ready``'s status and its store component (status 0: no answer)."""
    with contextlib.suppress(Exception):
        async with http.get(f"{url}/health/ready", timeout=5) as resp:
            body = await resp.json()
            return resp.status, body.get("components", {}).get("store", {})
    return 0, {}


async def kill_and_restart(service: Service, http: Any, at_s: float) -> dict[str, Any]:
    t0 = time.monotonic()
    service.kill()
    service.start()
    await wait_healthy(http, service.url)
    return {
        "t_s": round(at_s, 1),
        "fault": "service SIGKILL and restart",
        "down_s": round(time.monotonic() - t0, 1),
    }


async def broker_restart(ctl: str, at_s: float, hold_s: float = 3.0) -> dict[str, Any]:
    await _ctl(ctl, "mqtt-stop")
    await asyncio.sleep(hold_s)  # a deliberate outage of a few seconds
    await _ctl(ctl, "mqtt-start")
    return {"t_s": round(at_s, 1), "fault": f"broker stop, {hold_s:g} s, start"}


async def database_outage(
    ctl: str, service: Service, http: Any, at_s: float, hold_s: float, crash: bool = False,
    timeout_s: float = 120.0,
) -> dict[str, Any]:  # fmt: skip
    """PostgreSQL stopped (``crash``: as by a crash, ``pg_ctl -m immediate``) for ``hold_s`` and started
    again. Readiness is asked twice a second meanwhile;
    after the start: how long until readiness says the store is reachable and the spool is replayed.
    ``spooled``: the readings the service put in its spool from the stop until the spool was empty
    again; ``window``: the outage's wall-clock start and end, to count the readings sent inside it."""
    before = counter(await metrics(http, service.url), "shems_readings_spooled")
    statuses: dict[str, int] = {}
    unreachable: list[str] = []
    first_unready_s: float | None = None

    async def ask(t0: float) -> tuple[int, bool]:
        nonlocal first_unready_s
        status, store = await readiness(http, service.url)
        store_ok = bool(store.get("ok", False))
        key = f"{status} store {'ok' if store_ok else 'unreachable'}"
        statuses[key] = statuses.get(key, 0) + 1
        if not store_ok and status == 503:
            if first_unready_s is None:
                first_unready_s = round(time.monotonic() - t0, 1)
            detail = str(store.get("detail", ""))
            if detail and len(unreachable) < 1:
                unreachable.append(detail[:160])
        return status, store_ok

    began = datetime.now(UTC)
    t0 = time.monotonic()
    await _ctl(ctl, "pg-crash" if crash else "pg-stop")
    stopped_s = round(time.monotonic() - t0, 1)
    while time.monotonic() - t0 < hold_s:
        await ask(t0)
        await asyncio.sleep(0.5)
    during = dict(statuses)
    t_start = time.monotonic()
    await _ctl(ctl, "pg-start")
    ended = datetime.now(UTC)
    started_s = round(time.monotonic() - t_start, 1)
    ready_s = replayed_s = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (ready_s is None or replayed_s is None):
        status, store_ok = await ask(t0)
        if ready_s is None and status == 200 and store_ok:
            ready_s = round(time.monotonic() - t_start, 1)
        values = await metrics(http, service.url)
        segments = sum(v for k, v in values.items() if k.startswith("shems_telemetry_spool_segments"))
        if (
            replayed_s is None
            and values
            and segments == 0
            and counter(values, "shems_readings_spooled") > before
        ):
            replayed_s = round(time.monotonic() - t_start, 1)
        await asyncio.sleep(0.25)
    after = counter(await metrics(http, service.url), "shems_readings_spooled")
    return {
        "t_s": round(at_s, 1),
        "fault": f"PostgreSQL {'crash (pg_ctl -m immediate)' if crash else 'stop (pg_ctl -m fast)'}, "
        f"{hold_s:g} s, start",
        "stop_took_s": stopped_s,
        "start_took_s": started_s,
        "readiness_during_outage": during,
        "readiness_unready_after_s": first_unready_s,
        "readiness_store_detail": unreachable[0] if unreachable else None,
        "ready_again_after_start_s": ready_s,
        "spool_replayed_after_start_s": replayed_s,
        "readings_spooled": int(after - before),
        "window": (began, ended),
    }
