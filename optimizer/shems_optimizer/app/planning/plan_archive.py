"""Plans kept in the repository (``plans`` table), so a restart resumes with the plan in force.

The stored document is the API's plan document plus, under ``EXECUTION_KEY``, the typed schedule the
plan executor follows (full precision), so execution resumes after a restart without a new solve. The
key never reaches the API: it is taken off when the plan is read back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from shems_optimizer.app.execution.execution_plan import ExecutionPlan
from shems_optimizer.app.records.models import StoredPlan
from shems_optimizer.app.records.repository import Repository
from shems_optimizer.runtime.blocking import BlockingRunner

from .planning import PlannedRun

_LOGGER = logging.getLogger(__name__)
EXECUTION_KEY = "_execution"


class StorePlanArchive:
    def __init__(self, repo: Repository, blocking: BlockingRunner, home_id: str) -> None:
        self._repo = repo
        self._blocking = blocking
        self._home_id = home_id

    async def latest(self) -> PlannedRun | None:
        stored = await self._blocking(self._repo.latest_plan, self._home_id)
        if stored is None:
            return None
        document = dict(stored.document)
        raw = document.pop(EXECUTION_KEY, None)
        execution = None
        if isinstance(raw, Mapping):
            try:
                execution = ExecutionPlan.from_json(raw)
            except (KeyError, TypeError, ValueError) as err:
                _LOGGER.warning(
                    "the archived plan's schedule is unreadable; batteries wait for the next plan",
                    extra={"plan_id": document.get("id"), "error": f"{type(err).__name__}: {err}"},
                )
        return PlannedRun(document, execution)

    async def save(self, run: PlannedRun) -> None:
        plan = run.document
        record = StoredPlan(
            id=str(plan["id"]),
            home_id=self._home_id,
            created_at=datetime.fromisoformat(str(plan["created_at"])),
            horizon_start=datetime.fromisoformat(str(plan["horizon_start"])),
            horizon_end=datetime.fromisoformat(str(plan["horizon_end"])),
            status=str(plan["status"]),
            document=dict(plan)
            if run.execution is None
            else {**plan, EXECUTION_KEY: run.execution.to_json()},
            objective=plan.get("cost_total"),
        )
        await self._blocking(self._repo.save_plan, record)
