"""The store's thread: calls run in order, one hand-off per loop turn, each with its own result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from shems_optimizer.runtime.blocking import BlockingRunner
from shems_optimizer.runtime.logs import correlation, current_correlation_id


@pytest.fixture
def runner() -> Iterator[BlockingRunner]:
    r = BlockingRunner(name="test-store")
    yield r
    r.shutdown()


def _counting_submits(runner: BlockingRunner, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    submits: list[int] = []
    executor: Any = runner._executor  # counting hand-offs is the point
    real_submit = executor.submit

    def submit(fn: Any, batch: list[Any]) -> Any:
        submits.append(len(batch))
        return real_submit(fn, batch)

    monkeypatch.setattr(executor, "submit", submit)
    return submits


async def test_calls_of_one_turn_travel_together_and_keep_their_order(
    runner: BlockingRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    submits = _counting_submits(runner, monkeypatch)
    log: list[int] = []
    threads: set[str] = set()

    def write(i: int) -> int:
        log.append(i)
        threads.add(threading.current_thread().name)
        return i * 10

    results = await asyncio.gather(*(runner(write, i) for i in range(10)))
    assert results == [i * 10 for i in range(10)]
    assert log == list(range(10))  # submission order
    assert submits == [10]  # ten calls, one hand-off to the thread
    assert len(threads) == 1 and threads.pop().startswith("test-store")
    assert await runner(write, 99) == 990  # a later turn: its own hand-off
    assert submits == [10, 1]


async def test_an_error_reaches_only_its_caller(runner: BlockingRunner) -> None:
    def maybe_fail(i: int) -> int:
        if i == 2:
            raise ValueError("row 2 refused")
        return i

    results = await asyncio.gather(*(runner(maybe_fail, i) for i in range(4)), return_exceptions=True)
    assert results[:2] == [0, 1] and results[3] == 3
    assert isinstance(results[2], ValueError) and str(results[2]) == "row 2 refused"


async def test_each_call_runs_in_its_callers_context(runner: BlockingRunner) -> None:
    async def call_as(cid: str) -> str | None:
        with correlation(cid):
            return await runner(current_correlation_id)

    assert await asyncio.gather(call_as("req-a"), call_as("req-b")) == ["req-a", "req-b"]


async def test_a_caller_that_gave_up_before_its_turn_is_skipped(runner: BlockingRunner) -> None:
    started = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(10)
        ran.append("slow")

    first = asyncio.ensure_future(runner(slow))
    await asyncio.to_thread(started.wait, 10)  # the thread is busy with `slow`
    abandoned = asyncio.ensure_future(runner(ran.append, "abandoned"))
    kept = asyncio.ensure_future(runner(ran.append, "kept"))
    await asyncio.sleep(0)  # both are handed off behind `slow`
    abandoned.cancel()
    release.set()
    await first
    await kept
    assert ran == ["slow", "kept"]
    with pytest.raises(asyncio.CancelledError):
        await abandoned


async def test_after_shutdown_calls_fail_instead_of_hanging() -> None:
    runner = BlockingRunner()
    runner.shutdown()
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(runner(lambda: 1), timeout=5)
