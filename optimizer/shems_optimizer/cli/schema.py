"""`shems-optimizer schema [--write | --check] [--repo DIR]`: the site file's JSON Schema.

Prints docs/scenario-site.schema.json as generated from the loader's schema; ``--write`` replaces the
committed file, ``--check`` exits 1 when it is out of date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print (or write) the site file's JSON Schema, generated from the loader's schema",
        description="The JSON Schema of the site file (docs/scenario-site.schema.json).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write docs/scenario-site.schema.json")
    mode.add_argument("--check", action="store_true", help="exit 1 when the committed file is out of date")
    parser.add_argument("--repo", type=Path, default=Path(), help="repository root (default: here)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from shems_optimizer.api.site_schemas import SCENARIO_SCHEMA_PATH, scenario_schema_text

    text = scenario_schema_text()
    path = args.repo / SCENARIO_SCHEMA_PATH
    if args.write:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run shems-optimizer schema --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0
