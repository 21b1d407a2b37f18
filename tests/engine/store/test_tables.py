"""The one table declaration the queries are built from matches what each back-end's migrations create,
and a migration written once (an added column) applies to both back-ends in their own types."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Column, Engine, MetaData, Table, Text, TypeDecorator, create_engine, inspect

import shems_optimizer.adapters.store.sqlite as sqlite_store
import shems_optimizer.adapters.store.timescale as timescale_store
from shems_optimizer.adapters.store import (
    SqliteConfig,
    SqliteRepository,
    TimescaleConfig,
    TimescaleRepository,
    sqlite_schema,
    timescale_schema,
)
from shems_optimizer.adapters.store.migrations import AddColumn, Migration
from shems_optimizer.adapters.store.tables import UtcTime, metadata
from shems_optimizer.app.records.models import Device, DeviceType, Home


@pytest.fixture(params=["sqlite", "timescaledb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine, Any]]:
    """(name, an engine on the migrated database, a function opening the repository on it)."""
    if request.param == "sqlite":
        path = tmp_path / "s.sqlite3"

        def open_sqlite() -> SqliteRepository:
            return SqliteRepository.open(SqliteConfig(path))

        open_sqlite().close()
        engine = create_engine(f"sqlite:///{path}")
        yield "sqlite", engine, open_sqlite
    else:
        dsn: str = request.getfixturevalue("timescale_dsn")

        def open_timescale() -> TimescaleRepository:
            return TimescaleRepository.open(TimescaleConfig(dsn, max_connections=1))

        open_timescale().close()
        engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
        yield "timescaledb", engine, open_timescale
    engine.dispose()


def _python_type(type_: Any, engine: Engine) -> type:
    if isinstance(type_, TypeDecorator):  # the store's own types: what they are in this back-end
        type_ = type_.load_dialect_impl(engine.dialect)
    return type_.python_type  # type: ignore[no-any-return]


def test_declared_tables_match_the_migrated_schema(backend: tuple[str, Engine, Any]) -> None:
    _, engine, _ = backend
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        stored = {c["name"]: c for c in inspector.get_columns(table.name)}
        for column in table.columns:
            assert column.name in stored, f"{table.name}.{column.name} is declared but not migrated"
            reflected = stored[column.name]
            if not column.primary_key:  # (SQLite lets a non-integer primary key hold NULL)
                assert reflected["nullable"] == column.nullable, f"{table.name}.{column.name}: nullability"
            assert _python_type(column.type, engine) is _python_type(reflected["type"], engine), (
                f"{table.name}.{column.name}: declared {column.type!r}, stored {reflected['type']!r}"
            )
        required = {
            name
            for name, c in stored.items()
            if not c["nullable"] and c.get("default") is None and c.get("autoincrement") is not True
        }
        missing = required - set(table.columns.keys())
        assert not missing, f"{table.name}: required columns {missing} are not declared"


def test_a_migration_written_once_applies_to_both_back_ends(
    backend: tuple[str, Engine, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, engine, open_repo = backend
    module, schema = (
        (sqlite_store, sqlite_schema) if name == "sqlite" else (timescale_store, timescale_schema)
    )
    scratch = Table("devices", MetaData(), Column("retired_at", UtcTime), Column("note", Text))
    added = Migration(
        len(schema.MIGRATIONS) + 1,
        "device retirement",
        (AddColumn(scratch.c.retired_at), AddColumn(scratch.c.note)),
    )
    monkeypatch.setattr(module, "MIGRATIONS", (*schema.MIGRATIONS, added))
    repo = open_repo()
    try:
        assert repo.schema_version() == added.version
        repo.upsert_home(Home("h", "h"))
        repo.upsert_device(Device("d", "h", DeviceType.LOAD, "d"))  # the layer ignores undeclared columns
        stored = {c["name"]: c for c in inspect(engine).get_columns("devices")}
        assert _python_type(stored["retired_at"]["type"], engine) is (int if name == "sqlite" else datetime)
        assert _python_type(stored["note"]["type"], engine) is str
        with engine.begin() as conn:
            conn.execute(scratch.update().values(retired_at=datetime(2026, 1, 1, tzinfo=UTC), note="sold"))
            assert conn.execute(scratch.select()).one() == (datetime(2026, 1, 1, tzinfo=UTC), "sold")
    finally:
        repo.close()
        with engine.begin() as conn:  # leave the module's database at the released version
            conn.exec_driver_sql("DELETE FROM devices")
            conn.exec_driver_sql("DELETE FROM homes")
            conn.exec_driver_sql("ALTER TABLE devices DROP COLUMN retired_at")
            conn.exec_driver_sql("ALTER TABLE devices DROP COLUMN note")
            conn.exec_driver_sql(f"DELETE FROM schema_migrations WHERE version = {added.version}")
