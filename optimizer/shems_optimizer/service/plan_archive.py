"""Plans kept in the repository (``plans`` table), so a restart resumes with the plan in force."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shems_optimizer.store import Repository, StoredPlan

from .blocking import BlockingRunner


class StorePlanArchive:
    def __init__(self, repo: Repository, blocking: BlockingRunner, home_id: str) -> None:
        self._repo = repo
        self._blocking = blocking
        self._home_id = home_id

    async def latest(self) -> dict[str, Any] | None:
        stored = await self._blocking(self._repo.latest_plan, self._home_id)
        return None if stored is None else dict(stored.document)

    async def save(self, plan: Mapping[str, Any]) -> None:
        record = StoredPlan(
            id=str(plan["id"]),
            home_id=self._home_id,
            created_at=datetime.fromisoformat(str(plan["created_at"])),
            horizon_start=datetime.fromisoformat(str(plan["horizon_start"])),
            horizon_end=datetime.fromisoformat(str(plan["horizon_end"])),
            status=str(plan["status"]),
            document=dict(plan),
            objective=plan.get("cost_total"),
        )
        await self._blocking(self._repo.save_plan, record)
