"""Run the store's blocking calls on one dedicated thread, so the event loop never waits on a database.

One thread keeps calls in submission order (a command's status rows are written in the order they
happened) and suits SQLite, which prefers a connection used from a single thread at a time.

Calls made during one turn of the event loop travel to that thread together, as one job: under load
(ten commands in flight, their acks arriving together) this replaces a thread hand-off per call -
each a chance to wait up to the interpreter's switch interval for the GIL - with one per turn. Every
call still runs on its own, in order, and its awaiting coroutine resumes only after that call has
returned (for writes: committed), so nothing about durability changes. Each call runs in the
caller's context, so log lines written in the store carry the request's correlation id.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class _Call:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    context: contextvars.Context
    func: Callable[[], Any]


class BlockingRunner:
    def __init__(self, name: str = "shems-store") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()  # callers may live on several event loops (tests, threads)
        self._queued: list[_Call] = []
        self._waiting_loops: set[asyncio.AbstractEventLoop] = set()  # with a dispatch scheduled

    async def __call__(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        call = _Call(loop, future, contextvars.copy_context(), lambda: func(*args, **kwargs))
        with self._lock:
            self._queued.append(call)
            first = loop not in self._waiting_loops
            self._waiting_loops.add(loop)
        if first:  # the first call of this turn sends the batch once the turn's callbacks have run
            loop.call_soon(self._dispatch, loop)
        return await future

    def _dispatch(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        with self._lock:
            if loop is not None:
                self._waiting_loops.discard(loop)
            batch, self._queued = self._queued, []
        if not batch:
            return
        try:
            self._executor.submit(_run_batch, batch)
        except RuntimeError as err:  # shut down: nothing more will run
            for call in batch:
                _deliver(call, None, err)

    def shutdown(self) -> None:
        self._dispatch()
        self._executor.shutdown(wait=True, cancel_futures=False)


def _run_batch(batch: list[_Call]) -> None:
    for call in batch:
        if call.future.cancelled():  # its caller gave up before the call started: skip it
            continue
        try:
            result = call.context.run(call.func)
        except BaseException as err:  # handed to the awaiting coroutine, as run_in_executor does
            _deliver(call, None, err)
        else:
            _deliver(call, result, None)


def _deliver(call: _Call, result: Any, error: BaseException | None) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        call.loop.call_soon_threadsafe(_settle, call.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
