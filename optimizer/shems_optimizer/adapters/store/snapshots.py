"""Keeps the embedded store's backup snapshot fresh: hourly while running and once more on a clean stop.

A Home Assistant backup of a running add-on gets a fresh snapshot from the ``backup_pre`` hook; these
extra ones are for backups taken while the add-on is stopped (no hook runs then), which would otherwise
hold no database at all. Hourly bounds what such a backup can miss to the last hour (the seeds' RPO).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from shems_optimizer.adapters.store.sqlite_backup import SnapshotError, take_snapshot
from shems_optimizer.runtime.tasks import cancel_and_wait

_LOGGER = logging.getLogger(__name__)


class SnapshotKeeper:
    def __init__(self, data_dir: Path, every: timedelta = timedelta(hours=1)) -> None:
        self._data_dir = data_dir
        self._every_s = every.total_seconds()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="shems-snapshots")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            await self.snapshot_now()

    async def snapshot_now(self) -> None:
        """One snapshot on a worker thread (not the store's), logged and never raised: a failed
        snapshot must not stop the service, and the previous one stays in place."""
        try:
            info = await asyncio.to_thread(take_snapshot, self._data_dir)
        except (SnapshotError, OSError) as err:
            _LOGGER.error("the backup snapshot of the embedded store failed: %s", err)
            return
        if info is not None:
            _LOGGER.debug("backup snapshot written", extra=info.as_json())

    async def stop(self) -> None:
        """Stop the hourly timer; the caller takes the last snapshot once the store is closed."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
