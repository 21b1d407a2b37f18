"""The ``shems-optimizer`` command line.

One module per sub-command in this package (``optimize``, ``demo``, ``bench``, ``backtest``, ``serve``,
``backup``), each exposing ``register(subparsers)``; this module only collects them, so adding a
command touches one list. The command line is the top of the engine's layers: it may use any part.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from shems_optimizer import __version__

# Modules that contribute sub-commands; each defines ``register(subparsers) -> None`` and sets
# ``func`` on its parser via ``set_defaults(func=...)`` returning an exit code.
COMMAND_MODULES: tuple[str, ...] = (
    "shems_optimizer.cli.optimize",
    "shems_optimizer.cli.demo",
    "shems_optimizer.cli.bench",
    "shems_optimizer.cli.backtest",
    "shems_optimizer.cli.serve",
    "shems_optimizer.cli.backup",
    "shems_optimizer.cli.schema",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shems-optimizer",
        description="SHEMS smart-home energy planner: forecast, optimize, store, serve.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "takes_any", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
