"""Versioned schema migrations, applied at start-up by each back-end through one runner.

A migration is a numbered list of statements. :func:`apply_pending` applies every migration newer than the
version recorded in the ``schema_migrations`` table, each one in its own transaction together with the
row that records it, so a failure leaves the schema at the previous version — never half-way. Running the
migrations again is a no-op.

Migrations 1-4 are released history, kept as each back-end's own SQL (``sqlite_schema.RELEASED`` and
``timescale_schema.RELEASED``); never edit a released one. A new migration is written once, in
:data:`SHARED`, with statements that compile for both back-ends: an :class:`AddColumn` of a column
declared in :mod:`shems_optimizer.adapters.store.tables` (add it there too: a test compares the declarations
with each back-end's migrated schema), or any other SQLAlchemy DDL element. A step only one back-end needs
(a TimescaleDB index, a SQLite roll-up) is a plain SQL string in a :class:`Migration` of that back-end's
list at the same number, with an empty one in the other's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, ExecutableDDLElement
from sqlalchemy.sql.compiler import DDLCompiler

from shems_optimizer.adapters.store.tables import UtcTime
from shems_optimizer.app.records.models import StoreError

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str | ExecutableDDLElement, ...]


class AddColumn(ExecutableDDLElement):
    """``ALTER TABLE ... ADD COLUMN`` for a column of a declared table, in each back-end's types."""

    inherit_cache = False

    def __init__(self, column: Column[Any]) -> None:
        self.column = column


@compiles(AddColumn)
def _add_column(element: AddColumn, compiler: DDLCompiler, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.column.table)
    return f"ALTER TABLE {table} ADD COLUMN {compiler.process(CreateColumn(element.column), **kw)}"


# Written once for both back-ends from version 5 on (see the module docstring).
SHARED: tuple[Migration, ...] = ()

_versions = Table(
    "schema_migrations",
    MetaData(),
    Column("version", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("applied_at", UtcTime, nullable=False),
)


def pending(migrations: Sequence[Migration], current: int) -> list[Migration]:
    """Migrations newer than ``current``, in order; checks the list is numbered 1, 2, 3..."""
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise StoreError(
                f"migration list is not numbered consecutively: expected {expected}, found "
                f"{migration.version}"
            )
    if current > len(migrations):
        raise StoreError(
            f"database schema version {current} is newer than this SHEMS version knows "
            f"({len(migrations)}): upgrade SHEMS or use another database"
        )
    return list(migrations[current:])


def apply_pending(
    conn: Connection,
    migrations: Sequence[Migration],
    transaction: Callable[[Connection], AbstractContextManager[object]],
    create_versions_table: str,
) -> None:
    """Apply what is pending, one migration per ``transaction`` (the back-end's, with its lock)."""
    with transaction(conn):
        conn.exec_driver_sql(create_versions_table)
    while True:
        with transaction(conn):
            current = conn.execute(select(func.coalesce(func.max(_versions.c.version), 0))).scalar_one()
            todo = pending(migrations, int(current))
            if not todo:
                return
            migration = todo[0]
            _LOG.info("applying store migration %d: %s", migration.version, migration.name)
            for statement in migration.statements:
                try:
                    if isinstance(statement, str):
                        conn.exec_driver_sql(statement, execution_options={"no_parameters": True})
                    else:
                        conn.execute(statement)
                except DBAPIError as err:
                    raise StoreError(
                        f"migration {migration.version} ({migration.name}) failed and was rolled back: "
                        f"{err.orig}"
                    ) from err
            conn.execute(
                insert(_versions).values(
                    version=migration.version, name=migration.name, applied_at=datetime.now(UTC)
                )
            )
