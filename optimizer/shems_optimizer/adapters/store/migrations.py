"""Versioned schema migrations, applied at start-up by each back-end.

A migration is a numbered list of statements. A back-end applies every migration newer than the version
recorded in its ``schema_migrations`` table, each one in its own transaction together with the row that
records it, so a failure leaves the schema at the previous version — never half-way. Running the
migrations again is a no-op.

Rules for adding one: append a new :class:`Migration` with the next number to *both* back-ends' lists
(``timescale_schema.MIGRATIONS`` and ``sqlite_schema.MIGRATIONS``); never edit a released one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shems_optimizer.app.records.models import StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


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
