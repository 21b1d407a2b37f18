"""`shems-optimizer optimize` (not built yet: delivered with the optimizer engine)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("optimize", help="optimize (not built yet)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    print("shems-optimizer optimize: not built yet (the optimizer engine has not landed)", file=sys.stderr)
    return 1
