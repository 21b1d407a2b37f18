"""Background tasks of the service's long-running parts (MPC loop, plan executor, watchers).

Each part owns one asyncio task and must leave nothing behind when it stops: cancelling a task is
not enough, the owner has to wait until it has really finished (its ``finally`` blocks included).
"""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has ended; its cancellation is not re-raised."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
