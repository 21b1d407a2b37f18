"""History and telemetry store: one repository interface, two back-ends.

* :class:`~shems_optimizer.app.records.repository.Repository` — the interface (homes, devices, telemetry
  readings, consumption aggregates, device commands and their errors, forecasts, plans, schedules).
* :class:`~shems_optimizer.adapters.store.sql.SqlRepository` — the SQL both back-ends share, written once with
  SQLAlchemy Core over the declarations in :mod:`~shems_optimizer.adapters.store.tables`.
* :class:`~shems_optimizer.adapters.store.timescale.TimescaleRepository` — TimescaleDB through psycopg 3:
  hypertable, ``COPY`` ingest, retention, roll-up aggregates (15 min / hour / day).
* :class:`~shems_optimizer.adapters.store.sqlite.SqliteRepository` — embedded SQLite from the standard
  library, the default for a single home without a database server: WAL, its 15-minute roll-up.

Pick one by configuration and open it with :func:`open_store`; migrations are applied on open::

    repo = open_store(SqliteConfig(Path("/data/shems.sqlite3")))
    repo = open_store(TimescaleConfig("postgresql://user@host/shems"))
    repo = open_store(store_config_from_options({"storage": "timescaledb", "dsn": "postgresql://..."}))

docs/telemetry.md describes the schema, the payloads and the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shems_optimizer.adapters.store.sqlite import SqliteConfig, SqliteRepository
from shems_optimizer.adapters.store.sqlite_backup import live_db_path
from shems_optimizer.adapters.store.timescale import TimescaleConfig, TimescaleRepository
from shems_optimizer.app.config import StorageConfig
from shems_optimizer.app.records.models import StoreError
from shems_optimizer.app.records.repository import Repository

StoreConfig = SqliteConfig | TimescaleConfig

__all__ = [
    "SqliteConfig",
    "SqliteRepository",
    "StoreConfig",
    "TimescaleConfig",
    "TimescaleRepository",
    "open_store",
    "store_config",
    "store_config_from_options",
]


def open_store(config: StoreConfig) -> Repository:
    """Open the configured back-end and bring its schema up to date."""
    if isinstance(config, TimescaleConfig):
        return TimescaleRepository.open(config)
    return SqliteRepository.open(config)


def store_config_from_options(options: Mapping[str, Any], data_dir: Path = Path("/data")) -> StoreConfig:
    """Build a store configuration from add-on style options.

    ``{"storage": "embedded"}`` (default; optional ``"path"``, relative to ``data_dir``) or
    ``{"storage": "timescaledb", "dsn": "postgresql://...", "max_connections": 8}``.
    """
    storage = options.get("storage", "embedded")
    if storage == "embedded":
        path = Path(str(options.get("path", "shems.sqlite3")))
        return SqliteConfig(path if path.is_absolute() else data_dir / path)
    if storage == "timescaledb":
        dsn = options.get("dsn")
        if not isinstance(dsn, str) or not dsn:
            raise StoreError(
                "storage 'timescaledb' needs a 'dsn' option (postgresql://user:password@host/db)"
            )
        max_connections = options.get("max_connections", 8)
        if not isinstance(max_connections, int) or max_connections < 1:
            raise StoreError(f"max_connections must be a positive integer, got {max_connections!r}")
        return TimescaleConfig(dsn=dsn, max_connections=max_connections)
    raise StoreError(f"storage must be 'embedded' or 'timescaledb', got {storage!r}")


def store_config(storage: StorageConfig, data_dir: Path) -> SqliteConfig | TimescaleConfig:
    """The configured back-end: TimescaleDB at its DSN, or the embedded database in ``data_dir``."""
    if storage.kind == "timescaledb":
        assert storage.dsn is not None
        return TimescaleConfig(storage.dsn)
    return SqliteConfig(live_db_path(data_dir))
