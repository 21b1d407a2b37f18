"""Records the store keeps: homes, devices, telemetry readings, commands, forecasts, plans, schedules.

Configuration-like records are frozen dataclasses. A telemetry :class:`Reading` is a ``NamedTuple``
instead: ingestion creates hundreds of thousands per second and a tuple is several times cheaper to
build, while staying immutable and typed.

Every timestamp is timezone-aware; constructors reject naive ones so a local wall-clock time can never
be stored as if it were UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class StoreError(Exception):
    """The store cannot do what was asked (bad input, missing extension, unknown record...)."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached right now; the caller may retry or spool."""


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` if it carries a UTC offset; otherwise raise naming ``what``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


class Reading(NamedTuple):
    """One telemetry event: a device's values at one instant. ``None`` means "not measured".

    ``power_w`` is signed: positive is consumption (grid import, battery charge), negative is
    production / export. ``energy_kwh`` is a cumulative meter counter.
    """

    device_id: str
    time: datetime
    power_w: float | None = None
    energy_kwh: float | None = None
    voltage_v: float | None = None
    current_a: float | None = None


@dataclass(frozen=True)
class Home:
    id: str
    name: str
    timezone: str = "UTC"


class DeviceType(enum.StrEnum):
    """What a device measures; analytics use it to tell consumption from production."""

    GRID = "grid"  # main meter: + import, - export
    PV = "pv"  # production (sign ignored: |power| is production)
    BATTERY = "battery"  # + charge, - discharge
    EV = "ev"
    HEAT_PUMP = "heat_pump"
    WATER_HEATER = "water_heater"
    APPLIANCE = "appliance"
    LOAD = "load"  # any other metered consumer


@dataclass(frozen=True)
class Device:
    id: str
    home_id: str
    type: DeviceType
    name: str
    mqtt_topics: tuple[str, ...] = ()
    firmware: str | None = None
    last_seen: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise StoreError("device id must not be empty")
        if self.last_seen is not None:
            require_aware(self.last_seen, f"device {self.id!r} last_seen")


class CommandStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ACKED = "acked"
    FAILED = "failed"
    EXPIRED = "expired"


# Allowed status changes. ``sent -> sent`` is a retry (attempts + 1).
COMMAND_TRANSITIONS: dict[CommandStatus, frozenset[CommandStatus]] = {
    CommandStatus.PENDING: frozenset(
        {CommandStatus.SENT, CommandStatus.FAILED, CommandStatus.EXPIRED, CommandStatus.ACKED}
    ),
    CommandStatus.SENT: frozenset(
        {CommandStatus.SENT, CommandStatus.ACKED, CommandStatus.FAILED, CommandStatus.EXPIRED}
    ),
    CommandStatus.ACKED: frozenset(),
    CommandStatus.FAILED: frozenset(),
    CommandStatus.EXPIRED: frozenset(),
}


@dataclass(frozen=True)
class DeviceCommand:
    id: str
    device_id: str
    type: str
    payload: dict[str, Any]
    status: CommandStatus
    created_at: datetime
    correlation_id: str | None = None
    sent_at: datetime | None = None
    acked_at: datetime | None = None
    finished_at: datetime | None = None  # when it became failed / expired
    attempts: int = 0
    expires_at: datetime | None = None  # never sent after this; None for commands from before v3
    error: str | None = None  # why it failed or expired, in words


@dataclass(frozen=True)
class CommandError:
    command_id: str
    time: datetime
    attempt: int
    message: str


class ForecastKind(enum.StrEnum):
    LOAD = "load"
    PV = "pv"
    PRICE = "price"
    COST = "cost"


@dataclass(frozen=True)
class ForecastPoint:
    time: datetime
    p50: float
    p10: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class Forecast:
    """A forecast series as issued; kept so forecast vs actual can be shown later."""

    id: str
    home_id: str
    kind: ForecastKind
    issued_at: datetime
    unit: str
    points: tuple[ForecastPoint, ...]
    source: str = ""
    device_id: str | None = None


@dataclass(frozen=True)
class StoredPlan:
    """A plan as produced by the optimizer: its horizon and its JSON document (engine-defined)."""

    id: str
    home_id: str
    created_at: datetime
    horizon_start: datetime
    horizon_end: datetime
    status: str
    document: dict[str, Any]
    objective: float | None = None


class ScheduleStatus(enum.StrEnum):
    ACTIVE = "active"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Schedule:
    """A user goal for a device, e.g. "run the dishwasher by 07:00" (details in ``payload``)."""

    id: str
    home_id: str
    device_id: str | None
    name: str
    created_at: datetime
    deadline: datetime | None = None
    earliest_start: datetime | None = None
    status: ScheduleStatus = ScheduleStatus.ACTIVE
    payload: dict[str, Any] = field(default_factory=dict)


class Granularity(enum.StrEnum):
    RAW = "raw"
    MIN15 = "15min"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class ConsumptionBucket:
    """Energy of one device over one bucket [start, end).

    ``import_kwh`` / ``export_kwh``: energy with positive / negative power. From power samples they are
    the bucket's average power times its length (summed over 15-min or hourly base buckets; a base
    bucket without samples counts as zero). A device that reports only a cumulative counter gets
    ``import_kwh`` from the counter's increase instead.
    """

    device_id: str
    start: datetime
    end: datetime
    samples: int
    avg_power_w: float | None
    max_power_w: float | None
    min_power_w: float | None
    import_kwh: float
    export_kwh: float

    @property
    def net_kwh(self) -> float:
        return self.import_kwh - self.export_kwh
