"""Consumption at any granularity, and a home's energy flows built from its devices' meters.

Device roles (``DeviceType``) decide how meters combine:

* ``grid`` — import (positive power) and export (negative) at the connection point;
* ``pv`` — production (either sign counts as production);
* ``battery`` — charge (positive) and discharge (negative);
* everything else — a consumer.

With a grid meter, the home's consumption is ``import - export + pv + discharge - charge`` (every
consumer, metered or not). Without one, it is the sum of the metered consumers, and grid import/export
are unknown (``None``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shems_optimizer.app.records.models import ConsumptionBucket, DeviceType, Granularity, StoreError
from shems_optimizer.app.records.repository import ConsumptionQuery, Repository


@dataclass(frozen=True)
class ConsumptionPoint:
    """One row of a consumption series: a raw reading (energy None) or a bucket."""

    device_id: str
    start: datetime
    end: datetime | None
    power_w: float | None
    energy_kwh: float | None
    export_kwh: float | None


def consumption_points(
    repo: Repository,
    device_ids: Sequence[str],
    start: datetime,
    end: datetime,
    granularity: Granularity,
    timezone: str | None = None,
) -> list[ConsumptionPoint]:
    """Per-device series: raw readings, or buckets (15 min ... month) from the store's aggregates."""
    if granularity is Granularity.RAW:
        points = []
        for device_id in device_ids:
            for r in repo.readings(device_id, start, end):
                points.append(ConsumptionPoint(device_id, r.time, None, r.power_w, None, None))
        return points
    buckets = repo.consumption(
        ConsumptionQuery(start, end, granularity, tuple(device_ids), timezone=timezone)
    )
    return [
        ConsumptionPoint(b.device_id, b.start, b.end, b.avg_power_w, b.import_kwh, b.export_kwh)
        for b in buckets
    ]


@dataclass(frozen=True)
class EnergyFlows:
    start: datetime
    end: datetime
    consumption_kwh: float
    pv_kwh: float
    battery_charge_kwh: float
    battery_discharge_kwh: float
    grid_import_kwh: float | None  # None: the home has no grid meter
    grid_export_kwh: float | None


def energy_flows(
    repo: Repository, home_id: str, start: datetime, end: datetime, granularity: Granularity
) -> list[EnergyFlows]:
    """The home's energy flows per bucket (granularity 15 min ... month, in the home's time zone)."""
    if granularity is Granularity.RAW:
        raise StoreError("energy flows need a bucket granularity (15min, hour, day, week or month)")
    devices = repo.list_devices(home_id)
    if not devices:
        raise StoreError(f"home {home_id!r} has no devices")
    roles = {d.id: d.type for d in devices}
    buckets = repo.consumption(ConsumptionQuery(start, end, granularity, home_id=home_id))
    return flows_from_buckets(buckets, roles)


def flows_from_buckets(
    buckets: Sequence[ConsumptionBucket], roles: dict[str, DeviceType]
) -> list[EnergyFlows]:
    has_grid = DeviceType.GRID in roles.values()
    # Keyed by UTC instants: same-zone aware datetimes compare by wall clock, which would merge the
    # two local 02:00 quarters of an autumn DST night.
    sums: dict[tuple[datetime, datetime], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    local: dict[datetime, tuple[datetime, datetime]] = {}
    for b in buckets:
        role = roles.get(b.device_id, DeviceType.LOAD)
        key = (b.start.astimezone(UTC), b.end.astimezone(UTC))
        local.setdefault(key[0], (b.start, b.end))
        acc = sums[key]
        if role is DeviceType.GRID:
            acc["import"] += b.import_kwh
            acc["export"] += b.export_kwh
        elif role is DeviceType.PV:
            acc["pv"] += b.import_kwh + b.export_kwh
        elif role is DeviceType.BATTERY:
            acc["charge"] += b.import_kwh
            acc["discharge"] += b.export_kwh
        else:
            acc["loads"] += b.import_kwh
    flows = []
    for key, acc in sorted(sums.items()):
        start, end = local[key[0]]
        if has_grid:
            consumption = acc["import"] - acc["export"] + acc["pv"] + acc["discharge"] - acc["charge"]
        else:
            consumption = acc["loads"]
        flows.append(
            EnergyFlows(
                start=start,
                end=end,
                consumption_kwh=max(consumption, 0.0),
                pv_kwh=acc["pv"],
                battery_charge_kwh=acc["charge"],
                battery_discharge_kwh=acc["discharge"],
                grid_import_kwh=acc["import"] if has_grid else None,
                grid_export_kwh=acc["export"] if has_grid else None,
            )
        )
    return flows
