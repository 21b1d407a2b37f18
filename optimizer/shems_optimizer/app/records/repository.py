"""The repository interface: everything the engine and the add-on read from or write to the store.

Two back-ends implement it and pass the same test suite (tests/engine/store): TimescaleDB
(:mod:`shems_optimizer.adapters.store.timescale`) and embedded SQLite
(:mod:`shems_optimizer.adapters.store.sqlite`). Open one with
:func:`shems_optimizer.adapters.store.open_store`.

Methods block (database I/O) and are thread-safe; call them from asyncio code with
``await asyncio.to_thread(repo.method, ...)``. Times are always timezone-aware; returned times are UTC
unless a method says otherwise.

Telemetry writes are idempotent on (device, time): writing a reading again changes nothing, and a
reading that carries only some fields fills them in without erasing the others (several Home Assistant
entities may feed one device).
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shems_optimizer.app.records.aggregation import AggregateRow, sum_buckets, to_buckets, zone
from shems_optimizer.app.records.models import (
    COMMAND_TRANSITIONS,
    CommandError,
    CommandStatus,
    ConsumptionBucket,
    Device,
    DeviceCommand,
    Forecast,
    ForecastKind,
    Granularity,
    Home,
    Reading,
    Schedule,
    ScheduleStatus,
    StoredPlan,
    StoreError,
    require_aware,
)


@dataclass(frozen=True)
class ConsumptionQuery:
    """Consumption of some devices (or every device of a home) over [start, end).

    Buckets are aligned to ``timezone`` (the home's by default): a "day" is a local day, 23 or 25 hours
    long on DST changes; weeks start on Monday.

    ``total=True`` returns one series summing the selected devices (``device_id`` is :data:`TOTAL`):
    energies and ``avg_power_w`` are sums over the devices, ``samples`` too; ``max_power_w`` /
    ``min_power_w`` are None (the peak of a sum is not the sum of peaks).
    """

    start: datetime
    end: datetime
    granularity: Granularity
    device_ids: tuple[str, ...] = ()
    home_id: str | None = None
    timezone: str | None = None
    total: bool = False

    def __post_init__(self) -> None:
        require_aware(self.start, "consumption start")
        require_aware(self.end, "consumption end")
        if self.end <= self.start:
            raise StoreError(
                f"consumption end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )
        if self.granularity is Granularity.RAW:
            raise StoreError("raw granularity: use Repository.readings() for individual readings")


@dataclass(frozen=True)
class WriteResult:
    received: int  # readings handed to write_readings
    written: int  # rows inserted or updated (duplicates of identical rows may count as written)


def new_id() -> str:
    return uuid.uuid4().hex


class Repository(abc.ABC):
    """Abstract store. See the module docstring for threading and idempotency rules."""

    backend: str = "abstract"

    # -- lifecycle ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The highest migration applied."""

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- homes and devices ---------------------------------------------------------------------------
    @abc.abstractmethod
    def upsert_home(self, home: Home) -> None: ...

    @abc.abstractmethod
    def get_home(self, home_id: str) -> Home | None: ...

    @abc.abstractmethod
    def list_homes(self) -> list[Home]: ...

    @abc.abstractmethod
    def upsert_device(self, device: Device) -> None:
        """Create or replace a device (``last_seen`` is kept if the new record has none)."""

    @abc.abstractmethod
    def get_device(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    def list_devices(self, home_id: str | None = None) -> list[Device]: ...

    @abc.abstractmethod
    def delete_device(self, device_id: str) -> bool:
        """Delete a device and its commands; its telemetry stays (history). True if it existed."""

    @abc.abstractmethod
    def touch_devices(self, last_seen: dict[str, datetime]) -> None:
        """Advance ``last_seen`` (never moves it backwards)."""

    # -- telemetry -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def write_readings(self, readings: Sequence[Reading]) -> WriteResult:
        """Store readings in one transaction, idempotent on (device, time); raises
        :class:`StoreUnavailableError` when the database cannot be reached (nothing is half-written)."""

    @abc.abstractmethod
    def readings(
        self, device_id: str, start: datetime, end: datetime, limit: int | None = None
    ) -> list[Reading]:
        """Raw readings of one device in [start, end), oldest first."""

    @abc.abstractmethod
    def latest_readings(self, device_ids: Iterable[str] | None = None) -> dict[str, Reading]:
        """The newest reading of each device (of all devices when ``device_ids`` is None)."""

    @abc.abstractmethod
    def count_readings(
        self, device_id: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> int: ...

    @abc.abstractmethod
    def refresh_aggregates(self, start: datetime, end: datetime) -> None:
        """Recompute pre-computed aggregates for [start, end] now (writes already do this lazily)."""

    @abc.abstractmethod
    def run_maintenance(self, now: datetime) -> None:
        """Periodic upkeep (call every few minutes): bring aggregates up to date, apply retention."""

    @abc.abstractmethod
    def _aggregate(
        self, device_ids: Sequence[str], start: datetime, end: datetime, granularity: Granularity, tz: str
    ) -> list[AggregateRow]:
        """Aggregate rows per device and bucket (see :mod:`shems_optimizer.app.records.aggregation`)."""

    def consumption(self, query: ConsumptionQuery) -> list[ConsumptionBucket]:
        """Consumption buckets per device, sorted by device then time."""
        tz_name = query.timezone
        device_ids = list(query.device_ids)
        if query.home_id is not None:
            home = self.get_home(query.home_id)
            if home is None:
                raise StoreError(f"unknown home {query.home_id!r}")
            tz_name = tz_name or home.timezone
            if not device_ids:
                device_ids = [d.id for d in self.list_devices(query.home_id)]
        if not device_ids:
            raise StoreError("consumption query needs device_ids or a home with devices")
        tz = zone(tz_name or "UTC")
        if query.total:
            return self._total(device_ids, query.start, query.end, query.granularity, tz.key)
        rows = self._aggregate(device_ids, query.start, query.end, query.granularity, tz.key)
        return to_buckets(rows, query.granularity, tz)

    def _total(
        self, device_ids: Sequence[str], start: datetime, end: datetime, granularity: Granularity, tz: str
    ) -> list[ConsumptionBucket]:
        """The summed series; back-ends may compute it closer to the data."""
        rows = self._aggregate(device_ids, start, end, granularity, tz)
        return sum_buckets(to_buckets(rows, granularity, zone(tz)))

    # -- device commands -----------------------------------------------------------------------------
    def create_command(
        self,
        device_id: str,
        command_type: str,
        payload: dict[str, Any],
        created_at: datetime,
        correlation_id: str | None = None,
        command_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> DeviceCommand:
        """Record a new ``pending`` command for a known device; it is never sent after ``expires_at``."""
        command = DeviceCommand(
            id=command_id or new_id(),
            device_id=device_id,
            type=command_type,
            payload=payload,
            status=CommandStatus.PENDING,
            created_at=require_aware(created_at, "command created_at"),
            correlation_id=correlation_id,
            expires_at=None if expires_at is None else require_aware(expires_at, "command expires_at"),
        )
        self._insert_command(command)
        return command

    @abc.abstractmethod
    def _insert_command(self, command: DeviceCommand) -> None:
        """Store a new command; :class:`StoreError` for an unknown device or an id already taken."""

    @abc.abstractmethod
    def get_command(self, command_id: str) -> DeviceCommand | None: ...

    @abc.abstractmethod
    def list_commands(
        self,
        device_id: str | None = None,
        statuses: Iterable[CommandStatus] | None = None,
        limit: int = 100,
    ) -> list[DeviceCommand]:
        """Newest first."""

    @abc.abstractmethod
    def _write_command_status(self, command: DeviceCommand) -> None:
        """Persist status, timestamps and attempts of an existing command."""

    def update_command_status(
        self, command_id: str, status: CommandStatus, at: datetime, error: str | None = None
    ) -> DeviceCommand:
        """Move a command along pending -> sent (-> sent on retry) -> acked | failed | expired.

        ``error`` is kept with a failed or expired command as its reason.

        Raises :class:`StoreError` for an unknown command or a transition that is not allowed (e.g. an
        ack for an expired command), so a late ack can never resurrect a finished command.
        """
        require_aware(at, "command status time")
        command = self.get_command(command_id)
        if command is None:
            raise StoreError(f"unknown command {command_id!r}")
        if status not in COMMAND_TRANSITIONS[command.status]:
            raise StoreError(
                f"command {command_id!r}: cannot go from {command.status.value} to {status.value}"
            )
        changes: dict[str, Any] = {"status": status}
        if status is CommandStatus.SENT:
            changes["sent_at"] = at
            changes["attempts"] = command.attempts + 1
        elif status is CommandStatus.ACKED:
            changes["acked_at"] = at
        else:
            changes["finished_at"] = at
            changes["error"] = error
        updated = _replace(command, **changes)
        self._write_command_status(updated)
        return updated

    @abc.abstractmethod
    def record_command_error(self, command_id: str, at: datetime, attempt: int, message: str) -> None: ...

    @abc.abstractmethod
    def command_errors(self, command_id: str) -> list[CommandError]:
        """Oldest first."""

    # -- forecasts and plans -------------------------------------------------------------------------
    @abc.abstractmethod
    def save_forecast(self, forecast: Forecast) -> None: ...

    @abc.abstractmethod
    def get_forecast(self, forecast_id: str) -> Forecast | None: ...

    @abc.abstractmethod
    def latest_forecast(
        self,
        home_id: str,
        kind: ForecastKind,
        issued_before: datetime | None = None,
        device_id: str | None = None,
    ) -> Forecast | None:
        """The most recently issued forecast of that kind (optionally issued before a time)."""

    @abc.abstractmethod
    def save_plan(self, plan: StoredPlan) -> None: ...

    @abc.abstractmethod
    def get_plan(self, plan_id: str) -> StoredPlan | None: ...

    @abc.abstractmethod
    def latest_plan(self, home_id: str) -> StoredPlan | None: ...

    @abc.abstractmethod
    def list_plans(
        self, home_id: str, since: datetime | None = None, limit: int = 50, before: datetime | None = None
    ) -> list[StoredPlan]:
        """Newest first; ``since`` inclusive, ``before`` exclusive (on ``created_at``).

        ``list_plans(home, before=t, limit=1)`` is the plan that was in force at ``t``."""

    # -- schedules -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def upsert_schedule(self, schedule: Schedule) -> None: ...

    @abc.abstractmethod
    def get_schedule(self, schedule_id: str) -> Schedule | None: ...

    @abc.abstractmethod
    def list_schedules(self, home_id: str, status: ScheduleStatus | None = None) -> list[Schedule]:
        """Oldest first."""

    @abc.abstractmethod
    def delete_schedule(self, schedule_id: str) -> bool: ...


def _replace(command: DeviceCommand, **changes: Any) -> DeviceCommand:
    import dataclasses

    return dataclasses.replace(command, **changes)
