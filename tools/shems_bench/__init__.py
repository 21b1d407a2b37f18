"""Benchmarks run by ``shems-optimizer bench TARGET``; one module per target.

They are development tools, kept out of the installed package (the add-on's image has no use for
them): run them from a checkout, where ``tools/`` is on the path (``scripts/dev run`` and
``scripts/check`` put it there; by hand: ``PYTHONPATH=optimizer:tools``).
"""

from __future__ import annotations

import os
from pathlib import Path

import shems_optimizer


def python_env() -> dict[str, str]:
    """This environment, with the engine and these tools on ``PYTHONPATH`` for a child process."""
    env = dict(os.environ)
    here = Path(__file__).resolve().parents[1]  # .../tools
    engine = Path(shems_optimizer.__file__).resolve().parents[1]  # .../optimizer or site-packages
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(engine), str(here), env.get("PYTHONPATH", "")) if part
    )
    return env
