"""Run scikit-learn single-threaded.

Why: gradient boosting parallelises with OpenMP; on a small machine shared with the planner, the
database and the broker, idle OpenMP threads spinning for work made one fit over ten times slower
than a single thread. Forecast models are small; one thread is fast and predictable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]


@contextmanager
def single_threaded() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield
