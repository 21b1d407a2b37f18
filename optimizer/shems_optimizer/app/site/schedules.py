"""Schedules ("run the dishwasher by 07:00"): stored in the repository, honoured by the next plans.

Active schedules are also kept in memory as an immutable tuple the planner reads from its worker
thread; a new or removed schedule triggers a re-plan.

An appliance has at most one active schedule: asking again ("start the dishwasher at the cheapest
time", said twice or with a new deadline) replaces the earlier one, which is kept in the store as
``cancelled`` and named in the answer's ``replaced``. A schedule whose deadline has passed is marked
``done`` and leaves the list; nothing is deleted except on request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shems_optimizer.app.ports import PlanPort, SitePort
from shems_optimizer.app.records.models import Schedule, ScheduleStatus
from shems_optimizer.app.records.repository import Repository, new_id
from shems_optimizer.runtime.blocking import BlockingRunner
from shems_optimizer.runtime.errors import InputRejected

from .engine_site import ApplianceRequest

_LOGGER = logging.getLogger(__name__)


class ScheduleBook:
    """Implements the API's schedule port."""

    def __init__(
        self,
        repo: Repository,
        blocking: BlockingRunner,
        home_id: str,
        site: SitePort,
        plans: PlanPort | None = None,
        on_change: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self._repo = repo
        self._blocking = blocking
        self._home_id = home_id
        self._site = site
        self._plans = plans
        self._on_change = on_change
        self._clock = clock
        self._active: tuple[Schedule, ...] = ()

    async def load(self) -> None:
        stored = await self._blocking(self._repo.list_schedules, self._home_id, ScheduleStatus.ACTIVE)
        self._active = tuple(stored)

    def requests(self, now: datetime) -> Sequence[ApplianceRequest]:
        """Goals for the planner (thread-safe: reads one immutable tuple)."""
        out = []
        for schedule in self._active:
            appliance = schedule.payload.get("appliance_id")
            if isinstance(appliance, str) and schedule.deadline is not None and schedule.deadline > now:
                out.append(ApplianceRequest(appliance, schedule.deadline, schedule.earliest_start))
        return out

    def _record(self, schedule: Schedule) -> dict[str, Any]:
        appliance = schedule.payload.get("appliance_id")
        planned_start = planned_end = None
        plan = self._plans.current_plan() if self._plans is not None else None
        if plan is not None and str(plan.get("created_at", "")) >= schedule.created_at.isoformat():
            for entry in plan.get("appliances", []):
                if entry.get("id") == appliance:
                    planned_start, planned_end = entry.get("planned_start"), entry.get("planned_end")
        return {
            "id": schedule.id,
            "appliance_id": appliance,
            "finish_by": schedule.deadline,
            "earliest_start": schedule.earliest_start,
            "created_at": schedule.created_at,
            "note": schedule.payload.get("note"),
            "planned_start": planned_start,
            "planned_end": planned_end,
        }

    async def list_schedules(self) -> list[dict[str, Any]]:
        await self._retire_past(self._clock())
        return [self._record(s) for s in self._active]

    async def _retire_past(self, now: datetime) -> None:
        """Mark schedules whose deadline has passed as done (their run is over, or was not possible)."""
        past = [s for s in self._active if s.deadline is not None and s.deadline <= now]
        for schedule in past:
            await self._blocking(self._repo.upsert_schedule, replace(schedule, status=ScheduleStatus.DONE))
        if past:
            gone = {s.id for s in past}
            self._active = tuple(s for s in self._active if s.id not in gone)

    async def create_schedule(self, schedule: Mapping[str, Any]) -> dict[str, Any]:
        appliance_id = schedule["appliance_id"]
        site = self._site.get() or {}
        known = [a["id"] for a in site.get("appliances", [])]
        if appliance_id not in known:
            raise InputRejected(
                f"appliance_id: {appliance_id!r} is not an appliance of the site "
                f"(known: {', '.join(known) or 'none'})",
                field="appliance_id",
            )
        now = self._clock()
        if schedule["finish_by"] <= now:
            raise InputRejected("finish_by: must be in the future", field="finish_by")
        record = Schedule(
            id=new_id(),
            home_id=self._home_id,
            device_id=None,
            name=f"{appliance_id} by {schedule['finish_by'].isoformat()}",
            created_at=now,
            deadline=schedule["finish_by"],
            earliest_start=schedule.get("earliest_start"),
            payload={"appliance_id": appliance_id, "note": schedule.get("note")},
        )
        await self._retire_past(now)
        earlier = [s for s in self._active if s.payload.get("appliance_id") == appliance_id]
        for old in earlier:
            await self._blocking(self._repo.upsert_schedule, replace(old, status=ScheduleStatus.CANCELLED))
        await self._blocking(self._repo.upsert_schedule, record)
        replaced = {s.id for s in earlier}
        self._active = (*(s for s in self._active if s.id not in replaced), record)
        _LOGGER.info(
            "schedule created",
            extra={"schedule_id": record.id, "appliance_id": appliance_id, "replaced": sorted(replaced)},
        )
        if self._on_change is not None:
            self._on_change("new schedule")
        return {**self._record(record), "replaced": [s.id for s in earlier]}

    async def delete_schedule(self, schedule_id: str) -> bool:
        if not any(s.id == schedule_id for s in self._active):
            return False
        await self._blocking(self._repo.delete_schedule, schedule_id)
        self._active = tuple(s for s in self._active if s.id != schedule_id)
        if self._on_change is not None:
            self._on_change("schedule removed")
        return True
