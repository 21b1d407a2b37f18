"""The measured history the forecasters learn from: the home's own consumption and PV production.

**Home load.** When the home has dedicated consumer devices (registered loads, appliances, heat pumps,
water heaters — not the sub-meters the site document lists) their summed power is the home load, as
before. Otherwise it is the energy balance of what is measured, per 15-minute bucket::

    home load = grid import − grid export + PV production + battery discharge − battery charge

**Terms.** Each term comes from the devices of one *flow* (grid, PV, battery). A power sensor gives both
directions of its flow (store signs: grid + import / − export, battery + charge / − discharge, PV
|power|). A cumulative counter gives one direction: the grid import and battery charge counters sit on
the flow's main device, the grid export and battery discharge counters on a second device of the same
group (``outward_counter``); when the main device measured power in a bucket, the outward counter is
not needed there. A flow the site names nothing for counts as zero (no such flow). A bucket in which a
named source has no data is a **gap**, never a zero: the forecasters skip gaps. A counter's increase
covers the time since its previous reading; when that previous reading lies in an earlier bucket of
the last hour (Home Assistant's hourly statistics give one counter value per hour) the increase is
spread evenly over the buckets in between, and an increase over a longer silence is a gap. The
first counter bucket of a series has no previous reading and is a gap. A balance below zero (meters
read at slightly different moments) is clamped to 0 W.

**PV history** is the summed production of the PV devices, with the same gap rule.

The month of readings is aggregated again only when a 15-minute bucket closes, the devices change or
older data arrives (a backfill); the live inputs refresh every minute and only look at the newest
reading per device in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shems_optimizer.app.records.models import ConsumptionBucket, Device, DeviceType, Granularity
from shems_optimizer.app.records.repository import ConsumptionQuery, Repository
from shems_optimizer.runtime.blocking import BlockingRunner

STEP = timedelta(minutes=15)
MAX_SPREAD_STEPS = 4  # a counter increase over at most an hour is spread; longer silences are gaps
CONSUMERS = (DeviceType.LOAD, DeviceType.APPLIANCE, DeviceType.HEAT_PUMP, DeviceType.WATER_HEATER)
FLOWS = {DeviceType.GRID: "grid", DeviceType.PV: "pv", DeviceType.BATTERY: "battery"}

History = tuple[tuple[datetime, float], ...]  # (bucket start UTC, mean W)


@dataclass(frozen=True)
class FlowMeter:
    """A store device measuring one energy flow of the home."""

    device_id: str
    flow: str  # "grid", "pv" or "battery"
    group: str  # the devices measuring one flow of one asset (a grid meter and its export counter)
    outward_counter: bool = False  # a counter of grid export or battery discharge

    @classmethod
    def of(cls, device: Device) -> FlowMeter | None:
        """The device's flow from its site attributes, or from its type for registered devices."""
        flow = device.attributes.get("flow") or FLOWS.get(device.type)
        if flow not in ("grid", "pv", "battery"):
            return None
        group = str(device.attributes.get("group") or device.id)
        return cls(device.id, str(flow), group, bool(device.attributes.get("outward_counter", False)))


@dataclass(frozen=True)
class MeasuredHistory:
    load: History = ()
    pv: History = ()
    load_source: str = "none"  # "consumer devices", "energy balance" or "none"


@dataclass(frozen=True)
class _Energy:
    inward: float  # kWh: grid import, battery charge, PV production
    outward: float | None  # kWh: grid export, battery discharge; None: a counter (one direction only)


def dedicated_consumers(devices: Sequence[Device]) -> list[Device]:
    return [d for d in devices if d.type in CONSUMERS and d.attributes.get("source") != "site"]


def device_energy(buckets: Sequence[ConsumptionBucket]) -> dict[datetime, _Energy]:
    """Energy per bucket of one device, with counter increases spread over the silence they cover."""
    out: dict[datetime, _Energy] = {}
    previous: datetime | None = None
    for bucket in sorted((b for b in buckets if b.samples > 0), key=lambda b: b.start):
        start = bucket.start.astimezone(UTC)
        if bucket.avg_power_w is not None:
            out[start] = _Energy(bucket.import_kwh, bucket.export_kwh)
        elif previous is not None:
            steps = round((start - previous) / STEP)
            if 1 <= steps <= MAX_SPREAD_STEPS:
                share = bucket.import_kwh / steps
                for back in range(steps):
                    out[start - back * STEP] = _Energy(share, None)
        previous = start
    return out


def _group_energy(
    primaries: Sequence[dict[datetime, _Energy]], outward: Sequence[dict[datetime, _Energy]], at: datetime
) -> tuple[float, float] | None:
    """(inward, outward) kWh of one group in one bucket, or None when a needed source has no data."""
    if not primaries:
        return None
    inward = out = 0.0
    counters_needed = False
    for series in primaries:
        energy = series.get(at)
        if energy is None:
            return None
        inward += energy.inward
        if energy.outward is None:
            counters_needed = True
        else:
            out += energy.outward
    if counters_needed:
        for series in outward:
            energy = series.get(at)
            if energy is None:
                return None
            out += energy.inward
    return inward, out


def derive_history(
    meters: Sequence[FlowMeter], buckets: Mapping[str, Sequence[ConsumptionBucket]]
) -> MeasuredHistory:
    """Home load by energy balance and PV production (module docstring), in W per 15-min bucket."""
    series = {m.device_id: device_energy(buckets.get(m.device_id, ())) for m in meters}
    groups: dict[tuple[str, str], tuple[list[dict[datetime, _Energy]], list[dict[datetime, _Energy]]]] = {}
    for meter in meters:
        primaries, outward = groups.setdefault((meter.flow, meter.group), ([], []))
        (outward if meter.outward_counter else primaries).append(series[meter.device_id])
    times = sorted({t for s in series.values() for t in s})
    has_grid = any(flow == "grid" for flow, _ in groups)
    pv_groups = [g for g in groups if g[0] == "pv"]
    load: list[tuple[datetime, float]] = []
    pv: list[tuple[datetime, float]] = []
    for at in times:
        energies = {key: _group_energy(*members, at) for key, members in groups.items()}
        pv_known = [energies[g] for g in pv_groups]
        if pv_groups and all(e is not None for e in pv_known):
            pv.append((at, sum(e[0] + e[1] for e in pv_known if e is not None) * 4000.0))
        if not has_grid or any(e is None for e in energies.values()):
            continue
        balance = 0.0
        for (flow, _), energy in energies.items():
            assert energy is not None
            gained, given = energy
            if flow == "grid":
                balance += gained - given
            elif flow == "pv":
                balance += gained + given
            else:
                balance += given - gained
        load.append((at, max(balance, 0.0) * 4000.0))
    return MeasuredHistory(tuple(load), tuple(pv), "energy balance" if load else "none")


def consumer_history(buckets: Sequence[ConsumptionBucket]) -> History:
    """Summed power of dedicated consumer devices; buckets no device reported in are left out."""
    energy: dict[datetime, float] = {}
    for bucket in buckets:
        if bucket.samples > 0:
            start = bucket.start.astimezone(UTC)
            energy[start] = energy.get(start, 0.0) + bucket.import_kwh
    return tuple((start, kwh * 4000.0) for start, kwh in sorted(energy.items()))


class HistoryLoader:
    """Reads and derives the measured history, at most once per 15-minute bucket and device set."""

    def __init__(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        devices: Callable[[], Sequence[Device]],
        days: int = 28,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self._repo = repo
        self._blocking = blocking
        self._devices = devices
        self._days = days
        self._clock = clock
        self._cached: tuple[object, MeasuredHistory] | None = None
        self._lock = asyncio.Lock()

    async def history(self) -> MeasuredHistory:
        now = self._clock()
        end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        devices = self._devices()
        consumers = dedicated_consumers(devices)
        # The site's meters describe the home when there are any; registered devices otherwise (the
        # same grid measured twice would count twice).
        from_site = [d for d in devices if d.attributes.get("source") == "site"]
        flow_devices = from_site if any(FlowMeter.of(d) for d in from_site) else devices
        meters = [m for m in (FlowMeter.of(d) for d in flow_devices) if m is not None]
        ids = tuple(sorted({d.id for d in consumers} | {m.device_id for m in meters}))
        if not ids:
            return MeasuredHistory()
        async with self._lock:
            # Read again when a new bucket closes, the devices change, or older data arrived (a
            # statistics backfill): the newest reading per device, up to the bucket end, says so.
            latest = await self._blocking(self._repo.latest_readings, ids)
            marks = tuple(sorted((d, min(r.time, end)) for d, r in latest.items()))
            key = (end, marks, tuple(sorted((d.id, d.type.value, repr(d.attributes)) for d in devices)))
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
            result = await self._read(consumers, meters, ids, end)
            self._cached = (key, result)
            return result

    async def _read(
        self, consumers: Sequence[Device], meters: Sequence[FlowMeter], ids: tuple[str, ...], end: datetime
    ) -> MeasuredHistory:
        start = end - timedelta(days=self._days)
        query = ConsumptionQuery(start, end, Granularity.MIN15, device_ids=ids, timezone="UTC")
        rows = await self._blocking(self._repo.consumption, query)
        by_device: dict[str, list[ConsumptionBucket]] = {}
        for row in rows:
            by_device.setdefault(row.device_id, []).append(row)
        derived = derive_history(meters, by_device)
        if consumers:
            consumer_ids = {d.id for d in consumers}
            load = consumer_history([r for r in rows if r.device_id in consumer_ids])
            return MeasuredHistory(load, derived.pv, "consumer devices" if load else "none")
        return derived
