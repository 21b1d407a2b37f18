"""Refused telemetry: counted per device and reason, and sent on to a dead-letter sink.

Every message or reading ingestion does not store for a reason of its own (bad JSON, a time in 2100,
a meter counting backwards...) becomes one :class:`Refusal`. :class:`RefusalLog` keeps

* exact counts per (device, reason) for the metrics — device labels are bounded (a flood of made-up
  device ids lands under ``other``, so the metrics stay small);
* the times of recent refusals, for the dead-letter rate readiness reports;
* a rate-limited hand-over to a sink (the MQTT ingester publishes to ``<prefix>/dead_letter``), so a
  device spamming garbage cannot turn SHEMS into an amplifier — beyond the budget refusals are only
  counted (``dead_letters_suppressed``).

Thread-safe: the MQTT network thread and the pipeline's writer thread both record refusals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_LOG = logging.getLogger(__name__)

MAX_DEVICE_LABELS = 1000
OTHER_DEVICE = "other"
UNKNOWN_DEVICE = "unknown"
EXCERPT_CHARS = 200


class Reason:
    """Stable reason codes (metric labels, dead-letter ``reason``, docs list them all)."""

    INVALID_JSON = "invalid_json"
    INVALID_PAYLOAD = "invalid_payload"
    INVALID_DEVICE = "invalid_device"
    INVALID_TIME = "invalid_time"
    INVALID_VALUE = "invalid_value"
    NO_BINDING = "no_binding"
    DEVICE_MISMATCH = "device_mismatch"
    UNKNOWN_DEVICE = "unknown_device"
    TIME_IN_FUTURE = "time_in_future"
    TIME_TOO_OLD = "time_too_old"
    ENERGY_DECREASED = "energy_decreased"
    POWER_IMPLAUSIBLE = "power_implausible"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class Refusal:
    topic: str
    device: str  # the device it names or is bound to; ``unknown`` when there is none
    reason: str
    detail: str
    excerpt: str = ""  # the start of the raw payload (dead letters only)


def excerpt(payload: bytes) -> str:
    return payload[:EXCERPT_CHARS].decode("utf-8", errors="replace")


class _Bucket:
    """Token bucket: ``rate`` per second, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate, self._burst = rate, float(burst)
        self._tokens, self._at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class RefusalLog:
    def __init__(
        self, dead_letters_per_s: float = 5.0, dead_letter_burst: int = 20, rate_window_s: float = 300.0
    ) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._devices: set[str] = set()
        self._recent: deque[float] = deque()
        self._window = rate_window_s
        self._bucket = _Bucket(dead_letters_per_s, dead_letter_burst)
        self._sink: Callable[[Refusal], None] | None = None
        self.suppressed = 0
        self.sink_failures = 0
        self._logged: dict[str, float] = {}

    def set_sink(self, sink: Callable[[Refusal], None] | None) -> None:
        self._sink = sink

    def record(self, refusal: Refusal) -> None:
        now = time.monotonic()
        with self._lock:
            device = refusal.device or UNKNOWN_DEVICE
            if device not in self._devices:
                if len(self._devices) >= MAX_DEVICE_LABELS:
                    device = OTHER_DEVICE
                else:
                    self._devices.add(device)
            key = (device, refusal.reason)
            self._counts[key] = self._counts.get(key, 0) + 1
            self._recent.append(now)
            self._trim(now)
            send = self._sink is not None and self._bucket.take()
            if self._sink is not None and not send:
                self.suppressed += 1
            log = now - self._logged.get(refusal.reason, float("-inf")) >= 10.0
            if log:
                self._logged[refusal.reason] = now
        if log:  # one line per reason every 10 s; the counters stay exact
            _LOG.warning(
                "telemetry on %s refused (%s): %s", refusal.topic[:120], refusal.reason, refusal.detail[:200]
            )
        sink = self._sink
        if send and sink is not None:
            try:
                sink(refusal)
            except Exception:  # a dead letter that cannot be sent must not stop ingestion
                self.sink_failures += 1

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0] > self._window:
            self._recent.popleft()

    def counts(self) -> dict[tuple[str, str], int]:
        """(device, reason) -> refusals since start."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def per_minute(self) -> float:
        """Refusals per minute over the last window (5 minutes by default)."""
        with self._lock:
            self._trim(time.monotonic())
            return len(self._recent) * 60.0 / self._window
