"""Both store back-ends for analytics tests (same fixtures as the ingestion tests)."""

from tests.engine.ingest.conftest import repo, timescale, timescale_repo

__all__ = ["repo", "timescale", "timescale_repo"]
