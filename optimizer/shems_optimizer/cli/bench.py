"""`shems-optimizer bench TARGET [--json]`: benchmarks that print figures.

Each target is a module ``shems_bench.<target>`` exposing ``add_arguments(parser)`` (optional) and
``run(args) -> list[dict] | dict`` returning JSON-ready figures. Speed is measured here, never in
timed unit tests. The benchmarks are development tools: they live in the repository's ``tools/``,
not in the installed package, and the command says so where they cannot be imported.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

TARGETS: dict[str, str] = {
    "optimizer": "planning speed and cost on reference cases (EMHASS case A and larger sites)",
    "ingest": "MQTT -> store sustained ingestion rate, with a count proving nothing lost",
    "query": "consumption aggregation latency over 90 days of telemetry",
    "api": "API read latency under concurrent clients, against a bare aiohttp floor",
    "commands": "device command latency from API call to device ack",
    "outlook": "compute time of the 7-day hourly outlook next to the 48 h plan (the service's planner)",
    "soak": "a compressed day under telemetry, plans, commands, streams and restarts: growth and losses",
    "hotpath": "per-call cost of the rate limiter and the JSON log line, beside the libraries' ways",
}


NOT_INSTALLED = (
    "the benchmarks are development tools, not part of the installed package: run them from a "
    "checkout of the repository (scripts/dev run shems-optimizer bench ..., or with "
    "PYTHONPATH=optimizer:tools)"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its figures (from a checkout)")
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    try:
        importlib.import_module("shems_bench")
        tools: str | None = None
    except ImportError:
        tools = NOT_INSTALLED
    for name, help_text in TARGETS.items():
        target = sub.add_parser(name, help=help_text)
        target.add_argument("--json", action="store_true", help="print machine-readable JSON only")
        if tools is not None:
            # Its own options are unknown here: whatever follows is taken, and the message shown.
            target.set_defaults(func=_unavailable, bench_name=name, bench_error=tools, takes_any=True)
            continue
        try:
            module = importlib.import_module(f"shems_bench.{name}")
        except ImportError as err:
            # A benchmark whose own dependencies are missing must not break the other commands
            # (``demo`` works on a plain ``pip install .``); it says what is missing when asked.
            target.set_defaults(func=_unavailable, bench_name=name, bench_error=str(err))
            continue
        add_arguments = getattr(module, "add_arguments", None)
        if add_arguments is not None:
            add_arguments(target)
        target.set_defaults(func=_run, bench_module=module)


def _unavailable(args: argparse.Namespace) -> int:
    print(f"shems-optimizer bench {args.bench_name}: unavailable here: {args.bench_error}", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace) -> int:
    figures = args.bench_module.run(args)
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        rows = figures if isinstance(figures, list) else [figures]
        for row in rows:
            print("  ".join(f"{k}={_fmt(v)}" for k, v in row.items()))
    return 0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
