"""Consumption analytics and real-time usage, answered from the repository and the live state.

Identical consumption questions asked at the same time (a dashboard open in several places, a burst of
clients) share one database query, and answers are kept briefly: 60 s for periods that ended more
than 15 minutes ago (late readings are rare there), 5 s for periods that reach the present.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from shems_optimizer.api.jsonio import EncodedJson
from shems_optimizer.api.ports import SitePort
from shems_optimizer.store import ConsumptionQuery, Granularity, Repository, StoreError

from .blocking import BlockingRunner
from .devices import DeviceRegistry

CLOSED_TTL_S = 60.0
OPEN_TTL_S = 5.0
CACHE_SIZE = 256


class ConsumptionAnalytics:
    """Implements the API's analytics port."""

    def __init__(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        home_id: str,
        devices: DeviceRegistry,
        site: SitePort,
    ) -> None:
        self._repo = repo
        self._blocking = blocking
        self._home_id = home_id
        self._devices = devices
        self._site = site
        self._cache: OrderedDict[tuple[Any, ...], tuple[float, asyncio.Future[dict[str, Any]]]] = (
            OrderedDict()
        )

    async def consumption(
        self, start: datetime, end: datetime, device_id: str | None, granularity: str
    ) -> dict[str, Any]:
        timezone = str((self._site.get() or {}).get("timezone", "UTC"))
        devices = tuple(sorted(d.id for d in self._devices.devices()))
        key = (device_id, start, end, granularity, timezone, devices)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            self._cache.move_to_end(key)
            return await asyncio.shield(hit[1])
        closed = end < datetime.now(tz=UTC) - timedelta(minutes=15)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._cache[key] = (now + (CLOSED_TTL_S if closed else OPEN_TTL_S), future)
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

    async def _query(
        self, start: datetime, end: datetime, device_id: str | None, granularity: str, timezone: str
    ) -> dict[str, Any]:
        if device_id is not None:
            query = ConsumptionQuery(
                start, end, Granularity(granularity), device_ids=(device_id,), timezone=timezone
            )
        else:
            ids = tuple(d.id for d in self._devices.devices() if d.type.value not in ("grid", "pv"))
            if not ids:
                return _answer(device_id, granularity, start, end, [])
            query = ConsumptionQuery(start, end, Granularity(granularity), device_ids=ids, timezone=timezone)
        try:
            buckets = await self._blocking(self._repo.consumption, query)
        except StoreError:
            if device_id is not None and self._devices.route_now(device_id) is None:
                return _answer(device_id, granularity, start, end, [])
            raise
        merged: dict[datetime, dict[str, Any]] = defaultdict(
            lambda: {"energy_kwh": 0.0, "peak_power_w": None}
        )
        for bucket in buckets:
            # Keyed by UTC instant: local starts of the two 02:00 hours of an autumn DST night are equal.
            point = merged[bucket.start.astimezone(UTC)]
            point["start"] = bucket.start
            point["end"] = bucket.end
            point["energy_kwh"] += bucket.import_kwh
            if bucket.max_power_w is not None:
                point["peak_power_w"] = max(point["peak_power_w"] or 0.0, bucket.max_power_w)
        series = []
        for key in sorted(merged):
            point = merged[key]
            bucket_start = point["start"]
            hours = (point["end"].astimezone(UTC) - bucket_start.astimezone(UTC)).total_seconds() / 3600
            series.append(
                {
                    "start": bucket_start.isoformat(),  # encoded once here, not per request
                    "end": point["end"].isoformat(),
                    "energy_kwh": round(point["energy_kwh"], 6),
                    "avg_power_w": round(point["energy_kwh"] * 1000 / hours, 3) if hours > 0 else None,
                    "peak_power_w": point["peak_power_w"],
                }
            )
        return _answer(device_id, granularity, start, end, series)

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
