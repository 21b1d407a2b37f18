"""Whether planning is healthy: the last run did not fail and the plan in force is not stale.

The ``optimizer`` component of the health document: a plan older than two optimization intervals
(or none since the start, once that long has passed) is stale; without a site there is nothing to
plan, so nothing is stale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any


class PlanningHealth:
    def __init__(
        self,
        status: Callable[[], Mapping[str, Any]],
        has_site: Callable[[], bool],
        interval_min: float,
        clock: Callable[[], datetime],
        started_at: datetime | None,
    ) -> None:
        self._status = status
        self._has_site = has_site
        self._interval_min = interval_min
        self._clock = clock
        self._started_at = started_at

    def __call__(self) -> tuple[bool, str]:
        status = self._status()
        if status.get("last_error"):
            return False, f"last run failed: {status['last_error']}"
        stale = self.staleness(status)
        if stale is not None:
            return False, stale
        return True, str(status.get("optimizer", "idle"))

    def staleness(self, status: Mapping[str, Any]) -> str | None:
        """The plan in force is older than two optimization intervals (no site yet: nothing to plan)."""
        if not self._has_site():
            return None
        limit = timedelta(minutes=2 * self._interval_min)
        now = self._clock()
        success = status.get("last_success")
        if isinstance(success, datetime):
            if now - success > limit:
                return f"the last plan was made {int((now - success).total_seconds() // 60)} min ago"
            return None
        if self._started_at is not None and now - self._started_at > limit:
            return "no plan has been made since the start"
        return None
