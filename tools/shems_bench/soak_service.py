"""The service under soak: ``shems-optimizer serve`` in its own process, on the embedded store or on a
fresh TimescaleDB database, and what its store holds at the end."""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import python_env
from .soak_clients import PREFIX

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_COUNT = "SELECT device_id, count(*) FROM energy_consumption GROUP BY device_id"
_COUNT_BETWEEN = (
    "SELECT device_id, count(*) FROM energy_consumption WHERE time >= {p} AND time < {p} GROUP BY device_id"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Store:
    """Where the service keeps its data: the embedded SQLite file, or a TimescaleDB database made for
    this run from a superuser DSN (dropped at the end)."""

    def __init__(self, kind: str, data_dir: Path, admin_dsn: str = "") -> None:
        self.kind = kind
        self._db = data_dir / "shems.sqlite3"
        self._admin_dsn = admin_dsn
        self.dsn = ""
        self._dbname = ""

    def create(self) -> None:
        if self.kind != "timescaledb":
            return
        import psycopg
        from psycopg.conninfo import make_conninfo

        self._dbname = f"soak_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self._admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self._dbname}"')
        self.dsn = make_conninfo(self._admin_dsn, dbname=self._dbname)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")

    def drop(self) -> None:
        if not self._dbname:
            return
        import psycopg

        with contextlib.suppress(psycopg.Error), psycopg.connect(self._admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._dbname}" WITH (FORCE)')

    def counts(self, start: datetime | None = None, end: datetime | None = None) -> dict[str, int]:
        """Readings stored per device (with ``start`` and ``end``: those with times in [start, end))."""
        params: tuple[Any, ...] = () if start is None else (start, end)
        if self.kind == "timescaledb":
            import psycopg

            sql = _COUNT if start is None else _COUNT_BETWEEN.format(p="%s")
            with psycopg.connect(self.dsn) as conn:
                return {d: int(n) for d, n in conn.execute(sql, params).fetchall()}
        sql = _COUNT if start is None else _COUNT_BETWEEN.format(p="?")
        if start is not None and end is not None:  # the embedded store keeps Unix microseconds
            params = ((start - _EPOCH) // _US, (end - _EPOCH) // _US)
        with contextlib.closing(sqlite3.connect(self._db)) as conn:
            return dict(conn.execute(sql, params).fetchall())


class Service:
    """``shems-optimizer serve`` in its own process; killed and started again on the same data."""

    def __init__(self, data_dir: Path, store: Store, args: argparse.Namespace) -> None:
        self.data_dir = data_dir
        self.store = store
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self._args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = python_env()
        storage = ["--storage", self.store.kind]
        if self.store.kind == "timescaledb":
            env["SHEMS_DSN"] = self.store.dsn  # never on the command line
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "shems_optimizer", "serve", "--data-dir", str(self.data_dir),
                *storage, "--host", "127.0.0.1", "--port", str(self.port),
                "--mqtt-host", self._args.mqtt_host, "--mqtt-port", str(self._args.mqtt_port),
                "--mqtt-topic-prefix", PREFIX, "--rate-limit", "1000000", "--interval", "1440",
                "--log-level", "warning",
            ],
            env=env,
        )  # fmt: skip

    @property
    def token(self) -> str:
        return (self.data_dir / "api_token").read_text(encoding="utf-8").strip()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
