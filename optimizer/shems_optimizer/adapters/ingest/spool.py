"""A disk spool for telemetry batches the database could not take.

Each batch becomes one segment file, written to a temporary name, flushed to disk (fsync) and renamed,
so a segment is either complete or absent even if the process dies mid-write. Segments are numbered;
:meth:`DiskSpool.segments` returns them oldest first and the ingester replays them in that order, deleting
each only after the database accepted it. Replaying a segment twice is harmless: store writes are
idempotent on (device, time).

Format: one reading per line, tab-separated ``device, time (Unix microseconds), power_w, energy_kwh,
voltage_v, current_a`` with empty fields for missing values (device ids never contain tabs or
newlines: the payload parser refuses control characters).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shems_optimizer.app.records.models import Reading

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_SUFFIX = ".spool"


class SpoolFullError(OSError):
    """The spool reached its size limit; the caller must stop accepting data (backpressure)."""


@dataclass(frozen=True)
class Segment:
    path: Path
    sequence: int


def _field(value: float | None) -> str:
    return "" if value is None else repr(value)


def _value(text: str) -> float | None:
    return None if text == "" else float(text)


class DiskSpool:
    def __init__(self, directory: Path, max_bytes: int = 1 << 30) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        for leftover in self._dir.glob("*.tmp"):
            leftover.unlink()  # a write that never completed: its messages were not acknowledged
        existing = self.segments()
        self._next = existing[-1].sequence + 1 if existing else 1
        self._bytes = sum(s.path.stat().st_size for s in existing)

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self.segments())

    def append(self, readings: Sequence[Reading]) -> Segment:
        """Durably store one batch; raises :class:`SpoolFullError` beyond ``max_bytes``."""
        lines = [
            f"{r.device_id}\t{(r.time - _EPOCH) // _US}\t{_field(r.power_w)}\t{_field(r.energy_kwh)}\t"
            f"{_field(r.voltage_v)}\t{_field(r.current_a)}\n"
            for r in readings
        ]
        data = "".join(lines).encode()
        with self._lock:
            if self._bytes + len(data) > self._max_bytes:
                raise SpoolFullError(
                    f"telemetry spool {self._dir} is full ({self._bytes} of {self._max_bytes} bytes)"
                )
            sequence = self._next
            self._next += 1
            final = self._dir / f"{sequence:012d}{_SUFFIX}"
            tmp = final.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.rename(final)
            self._bytes += len(data)
        return Segment(final, sequence)

    def segments(self) -> list[Segment]:
        found = [Segment(p, int(p.stem)) for p in self._dir.glob(f"*{_SUFFIX}") if p.stem.isdigit()]
        return sorted(found, key=lambda s: s.sequence)

    @staticmethod
    def read(segment: Segment) -> list[Reading]:
        readings = []
        with segment.path.open(encoding="utf-8") as fh:
            for line in fh:
                device, micros, power, energy, voltage, current = line.rstrip("\n").split("\t")
                readings.append(
                    Reading(
                        device,
                        _EPOCH + timedelta(microseconds=int(micros)),
                        _value(power),
                        _value(energy),
                        _value(voltage),
                        _value(current),
                    )
                )
        return readings

    def remove(self, segment: Segment) -> None:
        with self._lock:
            size = segment.path.stat().st_size
            segment.path.unlink()
            self._bytes -= size
