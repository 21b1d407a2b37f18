"""Bundled inputs (demo excerpt, benchmark case A), each folder with its ATTRIBUTION.md."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def data_path(*parts: str) -> Path:
    """Path of a bundled file, e.g. ``data_path("emhass_case_a", "site.yaml")``."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"bundled data file missing: {path}")
    return path
