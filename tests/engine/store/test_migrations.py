"""Migrations: idempotent, recorded, atomic; a server without TimescaleDB is refused before any change."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from shems_optimizer.adapters.store import (
    SqliteConfig,
    SqliteRepository,
    TimescaleConfig,
    TimescaleRepository,
    open_store,
    sqlite_schema,
    store_config_from_options,
    timescale_schema,
)
from shems_optimizer.adapters.store.migrations import Migration
from shems_optimizer.app.records.models import StoreError

LATEST = len(sqlite_schema.MIGRATIONS)  # both back-ends keep the same numbering
ALL_VERSIONS = [(version,) for version in range(1, LATEST + 1)]


def test_both_back_ends_have_the_same_number_of_migrations() -> None:
    assert len(timescale_schema.MIGRATIONS) == LATEST


def _broken(migrations: tuple[Migration, ...]) -> tuple[Migration, ...]:
    """The real migrations plus one more whose second statement fails after the first succeeded."""
    return (
        *migrations,
        Migration(
            len(migrations) + 1,
            "broken on purpose",
            ("CREATE TABLE half_done (x integer)", "SELECT no_such_function()"),
        ),
    )


BROKEN = rf"migration {LATEST + 1} \(broken on purpose\) failed and was rolled back"


def test_sqlite_reopen_is_a_no_op_and_version_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    SqliteRepository.open(SqliteConfig(path)).close()
    SqliteRepository.open(SqliteConfig(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall() == ALL_VERSIONS


def test_sqlite_failed_migration_leaves_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.sqlite3"
    SqliteRepository.open(SqliteConfig(path)).close()
    monkeypatch.setattr("shems_optimizer.adapters.store.sqlite.MIGRATIONS", _broken(sqlite_schema.MIGRATIONS))
    with pytest.raises(StoreError, match=BROKEN):
        SqliteRepository.open(SqliteConfig(path))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT max(version) FROM schema_migrations").fetchone() == (LATEST,)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall() == []


def test_timescale_reopen_and_concurrent_open(timescale_dsn: str) -> None:
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            TimescaleRepository.open(TimescaleConfig(timescale_dsn, max_connections=1)).close()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=open_close) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(timescale_dsn) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert rows == ALL_VERSIONS


def test_timescale_failed_migration_is_rolled_back(
    timescale_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    TimescaleRepository.open(TimescaleConfig(timescale_dsn)).close()
    monkeypatch.setattr(
        "shems_optimizer.adapters.store.timescale.MIGRATIONS", _broken(timescale_schema.MIGRATIONS)
    )
    with pytest.raises(StoreError, match=BROKEN):
        TimescaleRepository.open(TimescaleConfig(timescale_dsn))
    with psycopg.connect(timescale_dsn) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (LATEST,)
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)


@pytest.fixture
def plain_postgres_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A database without TimescaleDB and a role that may connect but not create the extension.

    (TimescaleDB is a trusted extension: a database owner could create it, so the role is not the owner.)
    """
    suffix = uuid.uuid4().hex[:8]
    role, dbname = f"plain_{suffix}", f"plain_{suffix}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"CREATE DATABASE {dbname}")
        conn.execute(f"GRANT CONNECT ON DATABASE {dbname} TO {role}")
    yield make_conninfo(pg_admin_dsn, dbname=dbname, user=role)
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_postgres_without_timescaledb_is_refused_before_any_change(plain_postgres_dsn: str) -> None:
    with pytest.raises(StoreError, match=r"CREATE EXTENSION timescaledb.*no table was created"):
        TimescaleRepository.open(TimescaleConfig(plain_postgres_dsn))
    with psycopg.connect(plain_postgres_dsn) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    assert tables == []


def test_open_store_picks_the_backend_from_options(tmp_path: Path) -> None:
    config = store_config_from_options({}, data_dir=tmp_path)
    assert config == SqliteConfig(tmp_path / "shems.sqlite3")
    repo = open_store(config)
    try:
        assert repo.backend == "sqlite"
    finally:
        repo.close()
    ts = store_config_from_options(
        {"storage": "timescaledb", "dsn": "postgresql://u@h/db", "max_connections": 3}
    )
    assert ts == TimescaleConfig("postgresql://u@h/db", max_connections=3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"storage": "timescaledb"}, "needs a 'dsn'"),
        ({"storage": "timescaledb", "dsn": "postgresql://x", "max_connections": 0}, "max_connections"),
        ({"storage": "mongodb"}, "'embedded' or 'timescaledb', got 'mongodb'"),
    ],
)
def test_bad_store_options_are_explained(options: dict[str, object], message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store_config_from_options(options)
