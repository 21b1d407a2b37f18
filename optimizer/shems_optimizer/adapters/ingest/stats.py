"""Counters of what ingestion did with every message and reading (exposed for health and tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields


@dataclass
class IngestCounts:
    messages: int = 0  # messages received
    readings_received: int = 0  # readings parsed from them
    readings_stored: int = 0  # written to the store (directly or replayed from the spool)
    readings_spooled: int = 0  # written to the disk spool while the store was down
    malformed_messages: int = 0  # whole message unusable (bad JSON, no device...)
    malformed_readings: int = 0  # one reading of a batch unusable; the others are kept
    unknown_device: int = 0
    duplicates: int = 0  # same device and time as the previous reading
    out_of_order: int = 0  # older than the device's newest reading (skipped by default)
    implausible: int = 0  # refused: time far from now, absurd power, energy counter going down
    writer_errors: int = 0  # unexpected errors the writer survived
    store_failures: int = 0  # writes that failed because the store was unavailable
    segments_replayed: int = 0


class IngestStats:
    """Thread-safe counters; :meth:`snapshot` returns a consistent copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = IngestCounts()

    def add(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self._counts, name, getattr(self._counts, name) + value)

    def snapshot(self) -> IngestCounts:
        with self._lock:
            return IngestCounts(**{f.name: getattr(self._counts, f.name) for f in fields(IngestCounts)})
