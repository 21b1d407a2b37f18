"""Benchmarks run by ``shems-optimizer bench TARGET``; one module per target.

They are development tools, kept out of the installed package (the add-on's image has no use for
them): run them from a checkout, where ``tools/`` is on the path (``scripts/dev run`` and
``scripts/check`` put it there; by hand: ``PYTHONPATH=optimizer:tools``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import shems_optimizer
from shems_optimizer.app.config import ServiceConfig

# The API token of every service a benchmark starts.
TOKEN = "bench-token-0123456789abcdef"


def bench_service_config(data_dir: Path, port: int, **overrides: Any) -> ServiceConfig:
    """A service on loopback that a benchmark drives: no rate limit, its own token, and no re-plan of
    its own within the run (a day apart), so what is measured is what the benchmark asks for."""
    settings: dict[str, Any] = {
        "data_dir": data_dir,
        "host": "127.0.0.1",
        "port": port,
        "rate_limit_per_min": 10**9,
        "fixed_token": TOKEN,
        "optimization_interval_min": 1440,
    }
    return ServiceConfig(**(settings | overrides))


def python_env() -> dict[str, str]:
    """This environment, with the engine and these tools on ``PYTHONPATH`` for a child process."""
    env = dict(os.environ)
    here = Path(__file__).resolve().parents[1]  # .../tools
    engine = Path(shems_optimizer.__file__).resolve().parents[1]  # .../optimizer or site-packages
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(engine), str(here), env.get("PYTHONPATH", "")) if part
    )
    return env
