"""Child processes of the system tests (hass, the add-on, Chromium) and bounded waits on conditions.

Each process writes its output to a log file the test keeps as an artefact and reads afterwards; it is
stopped with SIGTERM (its own shutdown path) and killed only when that does not end it in time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ManagedProcess:
    """One child process with its output in ``log``."""

    name: str
    argv: Sequence[str]
    log: Path
    env: dict[str, str]
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ManagedProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        """Fail with the log's tail when the process has ended (instead of waiting for a timeout)."""
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.proc.returncode}; last lines of {self.log}:\n" + self.tail()
            )

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class Alive(Protocol):
    def check_alive(self) -> None:
        """Fail, saying why, when the process has ended."""


async def until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.5,
    alive: Sequence[Alive] = (),
) -> T:
    """Call ``probe`` until it returns something other than None/False; fail after ``timeout_s`` saying
    ``what`` was awaited and what the last probe saw (its exception, if it raised)."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while True:
        for process in alive:
            process.check_alive()
        try:
            result = await probe()
        except Exception as err:  # the condition is not met yet; remember why for the failure message
            last = err
        else:
            if result is not None and result is not False:
                return result
            last = result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval_s)
