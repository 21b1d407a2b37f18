"""The store's tables, declared once for both back-ends (SQLAlchemy Core).

The migrations (:mod:`shems_optimizer.adapters.store.sqlite_schema`,
:mod:`shems_optimizer.adapters.store.timescale_schema` and the shared ones in
:mod:`shems_optimizer.adapters.store.migrations`) create the tables; these declarations are what the queries
of :mod:`shems_optimizer.adapters.store.sql` are built from, and a test compares them with the migrated schema
of each back-end, so the two cannot drift apart.

Three column types carry the back-ends' storage differences, so a query is written once:

* :class:`UtcTime` — ``timestamptz`` in PostgreSQL; integer microseconds since the epoch (UTC) in SQLite,
  where ordering and equality are then exact. Naive datetimes are refused on the way in.
* :class:`Document` — a JSON object: ``jsonb`` in PostgreSQL, JSON text in SQLite.
* :class:`Topics` — a list of strings: ``text[]`` in PostgreSQL, a JSON array as text in SQLite.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import DateTime, TypeEngine

from shems_optimizer.app.records.models import require_aware

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def to_us(value: datetime) -> int:
    """Microseconds since the epoch (SQLite's time columns)."""
    return (require_aware(value, "time") - EPOCH) // MICROSECOND


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def _sqlite(dialect: Dialect) -> bool:
    return dialect.name == "sqlite"


class UtcTime(TypeDecorator[datetime]):
    """An aware instant: ``timestamptz``, or integer microseconds in SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(BigInteger() if _sqlite(dialect) else DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return to_us(value) if _sqlite(dialect) else require_aware(value, "time")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return from_us(value) if _sqlite(dialect) else value


class Document(TypeDecorator[dict[str, Any]]):
    """A JSON object: ``jsonb``, or JSON text in SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(Text() if _sqlite(dialect) else JSONB())

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.dumps(value) if _sqlite(dialect) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        return json.loads(value) if _sqlite(dialect) else dict(value)


class Topics(TypeDecorator[tuple[str, ...]]):
    """A list of strings: ``text[]``, or a JSON array as text in SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(Text() if _sqlite(dialect) else ARRAY(Text()))

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.dumps(list(value)) if _sqlite(dialect) else list(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(json.loads(value) if _sqlite(dialect) else value)


metadata = MetaData()

homes = Table(
    "homes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("timezone", Text, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("home_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("mqtt_topics", Topics, nullable=False),
    Column("firmware", Text),
    Column("last_seen", UtcTime),
    Column("attributes", Document, nullable=False),
)

energy_consumption = Table(
    "energy_consumption",
    metadata,
    Column("device_id", Text, nullable=False),
    Column("time", UtcTime, nullable=False),
    Column("power_w", Float),
    Column("energy_kwh", Float),
    Column("voltage_v", Float),
    Column("current_a", Float),
)

device_commands = Table(
    "device_commands",
    metadata,
    Column("id", Text, primary_key=True),
    Column("device_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("payload", Document, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Column("correlation_id", Text),
    Column("sent_at", UtcTime),
    Column("acked_at", UtcTime),
    Column("finished_at", UtcTime),
    Column("attempts", Integer, nullable=False),
    Column("expires_at", UtcTime),
    Column("error", Text),
)

command_errors = Table(
    "command_errors",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("command_id", Text, nullable=False),
    Column("time", UtcTime, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("message", Text, nullable=False),
)

forecasts = Table(
    "forecasts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("home_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("device_id", Text),
    Column("issued_at", UtcTime, nullable=False),
    Column("unit", Text, nullable=False),
    Column("source", Text, nullable=False),
)

forecast_points = Table(
    "forecast_points",
    metadata,
    Column("forecast_id", Text, primary_key=True),
    Column("time", UtcTime, primary_key=True),
    Column("p50", Float, nullable=False),
    Column("p10", Float),
    Column("p90", Float),
)

plans = Table(
    "plans",
    metadata,
    Column("id", Text, primary_key=True),
    Column("home_id", Text, nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Column("horizon_start", UtcTime, nullable=False),
    Column("horizon_end", UtcTime, nullable=False),
    Column("status", Text, nullable=False),
    Column("document", Document, nullable=False),
    Column("objective", Float),
)

schedules = Table(
    "schedules",
    metadata,
    Column("id", Text, primary_key=True),
    Column("home_id", Text, nullable=False),
    Column("device_id", Text),
    Column("name", Text, nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Column("deadline", UtcTime),
    Column("earliest_start", UtcTime),
    Column("status", Text, nullable=False),
    Column("payload", Document, nullable=False),
)
