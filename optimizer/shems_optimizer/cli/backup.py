"""`shems-optimizer backup snapshot`: the add-on's ``backup_pre`` hook (see addon/config.yaml).

The Supervisor runs it inside the running add-on just before it tars ``/data``; it writes a consistent
copy of the embedded store to ``/data/backup/snapshot.sqlite3`` while ingestion keeps writing (the live
database files are excluded from the tar). Prints what it wrote as JSON. A non-zero exit makes the
Supervisor fail the add-on's part of the backup, so a snapshot that cannot be made is reported, not
skipped. With the TimescaleDB store there is no embedded database and nothing to do (see DOCS.md for
``pg_dump`` and WAL archiving).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("backup", help="backup support for the embedded store")
    sub = parser.add_subparsers(dest="backup_action", metavar="ACTION", required=True)
    snapshot = sub.add_parser(
        "snapshot", help="write a consistent snapshot of the embedded store into DATA_DIR/backup/"
    )
    snapshot.add_argument(
        "--data-dir", type=Path, default=Path("/data"), help="the service's data directory (default /data)"
    )
    snapshot.set_defaults(func=_snapshot)


def _snapshot(args: argparse.Namespace) -> int:
    from shems_optimizer.adapters.store.sqlite_backup import SnapshotError, take_snapshot

    try:
        info = take_snapshot(args.data_dir)
    except (SnapshotError, OSError) as err:
        print(f"shems-optimizer backup snapshot: {err}", file=sys.stderr)
        return 1
    if info is None:
        print(json.dumps({"snapshot": None, "reason": f"no embedded store in {args.data_dir}"}))
        return 0
    print(json.dumps({"snapshot": info.as_json()}))
    return 0
