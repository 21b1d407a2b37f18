"""Consistent copies of the embedded SQLite store for backups, and the restore from such a copy.

A Home Assistant backup tars the add-on's data directory while the add-on runs. A database file
copied byte by byte while ingestion writes to it (and its WAL beside it) can come back torn, so the
live files are left out of the tar (``backup_exclude`` in addon/config.yaml) and a snapshot made with
SQLite's online backup API goes in instead: ``backup/snapshot.sqlite3``, with ``backup/snapshot.json``
saying when it was taken. The backup API copies the database as one read transaction sees it, so the
snapshot holds exactly what was committed when it began, while writers in WAL mode carry on.

The snapshot is refreshed by the Supervisor's ``backup_pre`` hook (``shems-optimizer backup snapshot``),
hourly by the service and when the service stops cleanly, so a backup taken while the add-on is stopped
still holds the database. A data directory that has a snapshot but no live database - what a restore
leaves behind - gets the snapshot back as its database before the store opens.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

LIVE_DB_NAME = "shems.sqlite3"
SNAPSHOT_DIR = "backup"
SNAPSHOT_NAME = "snapshot.sqlite3"
MANIFEST_NAME = "snapshot.json"


class SnapshotError(RuntimeError):
    """The snapshot could not be made or failed its integrity check."""


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path
    taken_at: datetime  # the moment the copy's read transaction began: everything committed before is in
    bytes: int
    readings: int
    schema_version: int

    def as_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "taken_at": self.taken_at.isoformat(),
            "bytes": self.bytes,
            "readings": self.readings,
            "schema_version": self.schema_version,
        }


def live_db_path(data_dir: Path) -> Path:
    return data_dir / LIVE_DB_NAME


def snapshot_path(data_dir: Path) -> Path:
    return data_dir / SNAPSHOT_DIR / SNAPSHOT_NAME


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")


def _check(conn: sqlite3.Connection, failure: str) -> None:
    result = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    if result != ["ok"]:
        raise SnapshotError(f"{failure}: integrity check failed: {'; '.join(map(str, result[:5]))}")


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    readings = (
        int(conn.execute("SELECT count(*) FROM energy_consumption").fetchone()[0])
        if "energy_consumption" in tables
        else 0
    )
    version = (
        int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])
        if "schema_migrations" in tables
        else 0
    )
    return readings, version


def _copy(source_path: Path, target: Path, failure: str) -> tuple[datetime, int, int]:
    """Copy a database with the online backup API into ``target`` (atomically), checked; returns the
    moment the copy began, its readings and its schema version. Any failure leaves ``target`` as it was.
    """
    tmp = _tmp_beside(target)
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=rw", uri=True, timeout=30)
        try:
            dest = sqlite3.connect(tmp)
            try:
                began = datetime.now(tz=UTC)
                source.backup(dest)  # all pages in one step: one consistent read of the source
                dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no WAL beside it
                _check(dest, failure)
                readings, version = _counts(dest)
            finally:
                dest.close()
        finally:
            source.close()
        tmp.replace(target)
    except sqlite3.Error as err:
        raise SnapshotError(f"{failure}: {err}") from err
    finally:
        tmp.unlink(missing_ok=True)
    return began, readings, version


def take_snapshot(data_dir: Path) -> SnapshotInfo | None:
    """Copy the live database into ``backup/snapshot.sqlite3`` (atomically replacing the last one).

    ``None`` when there is no embedded database (the TimescaleDB store, or nothing stored yet). Safe to
    run from another process while the service writes: the copy is one read transaction of its own.
    """
    source_path = live_db_path(data_dir)
    if not source_path.exists():
        return None
    target = snapshot_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    taken_at, readings, version = _copy(source_path, target, f"cannot snapshot {source_path}")
    info = SnapshotInfo(target, taken_at, target.stat().st_size, readings, version)
    manifest = target.with_name(MANIFEST_NAME)
    manifest_tmp = _tmp_beside(manifest)
    manifest_tmp.write_text(json.dumps(info.as_json()) + "\n", encoding="utf-8")
    manifest_tmp.replace(manifest)
    return info


def restore_if_absent(data_dir: Path) -> SnapshotInfo | None:
    """Make the snapshot the live database when there is none (a freshly restored data directory).

    Returns what was restored, or ``None`` when a live database exists or no snapshot does. A snapshot
    that fails its integrity check is left alone and raises: starting empty would hide the loss.
    """
    live = live_db_path(data_dir)
    snap = snapshot_path(data_dir)
    if live.exists() or not snap.exists():
        return None
    for leftover in (live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm")):
        leftover.unlink(missing_ok=True)  # a WAL without its database belongs to nothing
    _, readings, version = _copy(snap, live, f"cannot restore {live} from the backup snapshot {snap}")
    taken_at = _manifest_time(snap.with_name(MANIFEST_NAME)) or datetime.fromtimestamp(
        snap.stat().st_mtime, tz=UTC
    )
    info = SnapshotInfo(snap, taken_at, live.stat().st_size, readings, version)
    _LOGGER.warning(
        "the embedded store was missing and was restored from the backup snapshot",
        extra={"snapshot_taken_at": taken_at.isoformat(), "readings": readings},
    )
    return info


def _manifest_time(path: Path) -> datetime | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))["taken_at"]
        parsed = datetime.fromisoformat(value)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return parsed if parsed.tzinfo is not None else None
