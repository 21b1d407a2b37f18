"""Consumption analytics and real-time usage, answered from the repository and the live state.

Identical consumption questions asked at the same time (a dashboard open in several places, a burst of
clients) share one database query, and answers are kept briefly: 60 s for periods that ended more
than 15 minutes ago (late readings are rare there), 5 s for periods that reach the present. When a
kept answer expires, the next question starts one refresh and, while it runs, callers still get the
expired answer (for at most one more keeping time), so a busy endpoint never stalls all its clients
on the database at once; a refresh that fails drops the answer and the next question sees the error.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shems_optimizer.app.devices.devices import DeviceRegistry
from shems_optimizer.app.ports import SitePort
from shems_optimizer.app.records.models import ConsumptionBucket, Granularity, StoreError
from shems_optimizer.app.records.repository import ConsumptionQuery, Repository
from shems_optimizer.runtime.blocking import BlockingRunner
from shems_optimizer.runtime.jsonio import EncodedJson

CLOSED_TTL_S = 60.0
OPEN_TTL_S = 5.0
CACHE_SIZE = 256


@dataclass
class _Kept:
    fresh_until: float
    stale_until: float  # after this an expired answer is never served, even while refreshing
    answer: asyncio.Future[dict[str, Any]]
    refreshing: bool = False


class ConsumptionAnalytics:
    """Implements the API's analytics port."""

    def __init__(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        home_id: str,
        devices: DeviceRegistry,
        site: SitePort,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repo = repo
        self._clock = clock
        self._refreshes: set[asyncio.Task[None]] = set()
        self._blocking = blocking
        self._home_id = home_id
        self._devices = devices
        self._site = site
        self._cache: OrderedDict[tuple[Any, ...], _Kept] = OrderedDict()

    async def consumption(
        self, start: datetime, end: datetime, device_id: str | None, granularity: str
    ) -> dict[str, Any]:
        timezone = str((self._site.get() or {}).get("timezone", "UTC"))
        devices = tuple(sorted(d.id for d in self._devices.devices()))
        key = (device_id, start, end, granularity, timezone, devices)
        now = self._clock()
        kept = self._cache.get(key)
        if kept is not None:
            self._cache.move_to_end(key)
            if now < kept.fresh_until or not kept.answer.done():
                return await asyncio.shield(kept.answer)
            if now < kept.stale_until and kept.answer.exception() is None:
                if not kept.refreshing:
                    kept.refreshing = True
                    task = asyncio.create_task(self._refresh(key, kept, start, end, device_id, granularity))
                    self._refreshes.add(task)
                    task.add_done_callback(self._refreshes.discard)
                return kept.answer.result()
        return await self._compute(key, start, end, device_id, granularity, timezone)

    def _ttl(self, end: datetime) -> float:
        closed = end < datetime.now(tz=UTC) - timedelta(minutes=15)
        return CLOSED_TTL_S if closed else OPEN_TTL_S

    async def _compute(
        self,
        key: tuple[Any, ...],
        start: datetime,
        end: datetime,
        device_id: str | None,
        granularity: str,
        timezone: str,
    ) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        now, ttl = self._clock(), self._ttl(end)
        self._cache[key] = _Kept(now + ttl, now + 2 * ttl, future)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        try:
            answer = EncodedJson(await self._query(start, end, device_id, granularity, timezone))
        except BaseException as err:
            self._cache.pop(key, None)
            future.set_exception(err)
            future.exception()  # marked retrieved: waiters re-raise it, nothing logs "never retrieved"
            raise
        future.set_result(answer)
        return answer

    async def _refresh(
        self,
        key: tuple[Any, ...],
        kept: _Kept,
        start: datetime,
        end: datetime,
        device_id: str | None,
        granularity: str,
    ) -> None:
        """Replace an expired answer; until then (and at most until ``stale_until``) it is served."""
        timezone = key[4]
        try:
            answer = EncodedJson(await self._query(start, end, device_id, granularity, timezone))
        except Exception:
            if self._cache.get(key) is kept:
                del self._cache[key]  # the next question asks the store and sees what is wrong
            return
        if self._cache.get(key) is not kept:
            return  # dropped or replaced meanwhile
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        future.set_result(answer)
        now, ttl = self._clock(), self._ttl(end)
        self._cache[key] = _Kept(now + ttl, now + 2 * ttl, future)

    async def _query(
        self, start: datetime, end: datetime, device_id: str | None, granularity: str, timezone: str
    ) -> dict[str, Any]:
        if device_id is not None:
            query = ConsumptionQuery(
                start, end, Granularity(granularity), device_ids=(device_id,), timezone=timezone
            )
        else:
            # Grid and PV are not consumption; neither is a battery's discharge counter.
            ids = tuple(
                d.id
                for d in self._devices.devices()
                if d.type.value not in ("grid", "pv") and not d.attributes.get("outward_counter")
            )
            if not ids:
                return _answer(device_id, granularity, start, end, [])
            query = ConsumptionQuery(start, end, Granularity(granularity), device_ids=ids, timezone=timezone)
        try:
            buckets = await self._blocking(self._repo.consumption, query)
        except StoreError:
            if device_id is not None and self._devices.route_now(device_id) is None:
                return _answer(device_id, granularity, start, end, [])
            raise
        return _answer(device_id, granularity, start, end, _series(buckets))

    async def usage(self) -> dict[str, Any]:
        devices = []
        total = 0.0
        have_total = False
        for device in sorted(self._devices.devices(), key=lambda d: d.id):
            status = self._devices.latest_status(device.id) or {}
            state = status.get("state") or {}
            power = state.get("power_w")
            devices.append(
                {
                    "device_id": device.id,
                    "type": device.type.value,
                    "power_w": power,
                    "updated_at": state.get("updated_at"),
                }
            )
            if power is not None and device.type.value not in ("grid", "pv"):
                total += float(power)
                have_total = True
        return {"devices": devices, "total_power_w": round(total, 3) if have_total else None}


def _series(buckets: Iterable[ConsumptionBucket]) -> list[dict[str, Any]]:
    """One point per bucket start, the devices' energy summed and their peaks' maximum; the times
    encoded once here, not per request."""
    # Keyed by UTC instant: local starts of the two 02:00 hours of an autumn DST night are equal.
    # [start, end, energy kWh, peak W]
    merged: dict[datetime, list[Any]] = {}
    for bucket in buckets:
        key = bucket.start.astimezone(UTC)
        peak = bucket.max_power_w
        point = merged.get(key)
        if point is None:
            merged[key] = [
                bucket.start,
                bucket.end,
                0.0 + bucket.import_kwh,
                None if peak is None else max(0.0, peak),
            ]
        else:
            point[1] = bucket.end
            point[2] += bucket.import_kwh
            if peak is not None:
                point[3] = max(point[3] or 0.0, peak)
    series = []
    for key in sorted(merged):
        bucket_start, bucket_end, energy, peak = merged[key]
        hours = (bucket_end.astimezone(UTC) - key).total_seconds() / 3600
        series.append(
            {
                "start": bucket_start.isoformat(),
                "end": bucket_end.isoformat(),
                "energy_kwh": round(energy, 6),
                "avg_power_w": round(energy * 1000 / hours, 3) if hours > 0 else None,
                "peak_power_w": peak,
            }
        )
    return series


def _answer(
    device_id: str | None, granularity: str, start: datetime, end: datetime, series: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "device": device_id,
        "granularity": granularity,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "total_kwh": round(sum(p["energy_kwh"] for p in series), 6),
        "series": series,
    }
