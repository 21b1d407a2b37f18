"""The telemetry pipeline between a source (MQTT, Home Assistant) and the store.

Sources call :meth:`TelemetryPipeline.submit` with parsed readings and an acknowledgement callback. The
pipeline:

1. holds messages in a **bounded queue** — when it is full, ``submit`` blocks, which stops the MQTT
   network loop and lets the broker hold the backlog (backpressure instead of unbounded memory);
2. filters each reading: unknown devices, implausible readings (times far from now, absurd power, an
   energy counter going down: :mod:`~shems_optimizer.adapters.ingest.plausibility`), duplicates (same time as
   the device's previous reading) and out-of-order readings (older than the device's newest) are
   counted and skipped — or, with ``late_readings="store"``, late readings are stored. Refusals go to
   :class:`~shems_optimizer.adapters.ingest.refusals.RefusalLog` (per device and reason, dead letters). While
   the store cannot say whether a device exists (it is down), its readings are kept and spooled; the replay
   drops those of devices that turn out unknown;
3. writes batches (up to ``batch_size`` readings, or whatever arrived within ``flush_interval_s``) in
   one store transaction;
4. when the store is unavailable, appends the batch to the **disk spool** instead and replays the spool,
   oldest first, once the store answers again; while anything is spooled, new batches go behind it, so
   order is kept;
5. acknowledges a message only once its readings are in the store or in the spool (an MQTT QoS 1
   message not acknowledged is re-delivered after a crash; store writes are idempotent, so a
   re-delivery never duplicates a row);
6. never dies of one bad batch: a write the store refuses (not "unavailable") is retried reading by
   reading and only the refused readings are dropped (counted), and anything unexpected in the writer
   loop is counted and logged, its messages acknowledged, so a poison message cannot come back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from shems_optimizer.adapters.ingest.plausibility import PlausibilityRules, ReadingGuard, rating_w
from shems_optimizer.adapters.ingest.refusals import Reason, Refusal, RefusalLog
from shems_optimizer.adapters.ingest.spool import DiskSpool, SpoolFullError
from shems_optimizer.adapters.ingest.stats import IngestCounts, IngestStats
from shems_optimizer.app.records.models import Reading, StoreError, StoreUnavailableError
from shems_optimizer.app.records.repository import Repository

_LOG = logging.getLogger(__name__)

Ack = Callable[[], object]


@dataclass(frozen=True)
class PipelineConfig:
    spool_dir: Path
    batch_size: int = 5000
    flush_interval_s: float = 0.1
    queue_max_messages: int = 2000
    spool_max_bytes: int = 1 << 30
    retry_interval_s: float = 1.0
    known_devices_refresh_s: float = 5.0
    touch_interval_s: float = 10.0
    late_readings: str = "skip"  # "skip" or "store"
    plausibility: PlausibilityRules = field(default_factory=PlausibilityRules)

    def __post_init__(self) -> None:
        if self.late_readings not in ("skip", "store"):
            raise ValueError(f"late_readings must be 'skip' or 'store', got {self.late_readings!r}")
        if self.batch_size < 1 or self.queue_max_messages < 1:
            raise ValueError("batch_size and queue_max_messages must be positive")


@dataclass(frozen=True)
class _Item:
    topic: str
    readings: Sequence[Reading]
    ack: Ack | None


_STOP = _Item("", (), None)


class _LogLimiter:
    """At most ``burst`` log lines per key and window; the rest are counted and reported later.

    A misconfigured device or a re-delivered backlog can produce a problem per reading; the counters
    stay exact, the log stays readable.
    """

    def __init__(self, burst: int = 10, window_s: float = 60.0) -> None:
        self._burst, self._window = burst, window_s
        self._state: dict[tuple[str, str], list[float]] = {}  # key -> [window start, logged, suppressed]
        self._lock = threading.Lock()

    def warn(self, key: tuple[str, str], message: str, *args: object) -> None:
        with self._lock:
            self._warn(key, message, *args)

    def _warn(self, key: tuple[str, str], message: str, *args: object) -> None:
        now = time.monotonic()
        state = self._state.setdefault(key, [now, 0, 0])
        if now - state[0] >= self._window:
            if state[2]:
                _LOG.warning("telemetry on %s: %d more %s messages were not logged", key[1], state[2], key[0])
            state[:] = [now, 0, 0]
        if state[1] < self._burst:
            state[1] += 1
            _LOG.warning(message, *args)
        else:
            state[2] += 1


class TelemetryPipeline:
    def __init__(self, repo: Repository, config: PipelineConfig) -> None:
        self._repo = repo
        self._config = config
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=config.queue_max_messages)
        self._spool = DiskSpool(config.spool_dir, config.spool_max_bytes)
        self.stats = IngestStats()
        self.refusals = RefusalLog()
        self._guard = ReadingGuard(config.plausibility)
        self._known: set[str] = set()
        self._known_ok = False  # the last device list refresh succeeded
        self._known_at = float("-inf")
        self._newest: dict[str, datetime] = {}
        self._seen: dict[str, datetime] = {}
        self._store_down = False
        self._next_retry = 0.0
        self._touched_at = time.monotonic()
        self._busy = threading.Event()
        self._stopping = False
        self._log = _LogLimiter()
        self._thread: threading.Thread | None = None

    # -- source side ---------------------------------------------------------------------------------
    def submit(
        self,
        topic: str,
        readings: Sequence[Reading],
        refused: Sequence[Refusal] = (),
        ack: Ack | None = None,
    ) -> None:
        """Queue one message's readings (blocks while the queue is full). ``refused``: its readings the
        source already refused (counted and dead-lettered here)."""
        self.stats.add(
            messages=1, readings_received=len(readings) + len(refused), malformed_readings=len(refused)
        )
        for refusal in refused:
            self.refusals.record(refusal)
        self._busy.set()
        self._queue.put(_Item(topic, readings, ack))

    def reject(self, refusal: Refusal, ack: Ack | None = None) -> None:
        """Count a message that could not be used at all, then acknowledge it (never retried)."""
        self.stats.add(messages=1, malformed_messages=1)
        self.refusals.record(refusal)
        if ack is not None:
            ack()

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._refresh_known(force=True)
        self._thread = threading.Thread(target=self._run, name="shems-telemetry-writer", daemon=True)
        self._thread.start()

    def restart(self) -> None:
        """Start the writer again after its thread died (queued messages and the spool are kept)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name="shems-telemetry-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write (or spool) everything queued, then stop the writer."""
        if self._thread is None:
            return
        self._stopping = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    @property
    def repository(self) -> Repository:
        return self._repo

    def counts(self) -> IngestCounts:
        return self.stats.snapshot()

    def writer_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def queue_depth(self) -> int:
        return self._queue.qsize()

    @property
    def store_down(self) -> bool:
        """The last write found the store unavailable (readings go to the spool)."""
        return self._store_down

    @property
    def spooled_segments(self) -> int:
        return len(self._spool)

    def is_idle(self) -> bool:
        """Nothing queued, nothing being written, nothing spooled."""
        return self._queue.empty() and not self._busy.is_set() and len(self._spool) == 0

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_idle():
                return True
            time.sleep(0.02)
        return self.is_idle()

    # -- writer thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                self._loop()
                return
            except Exception:  # never let one batch end the writer; its messages were acknowledged
                self.stats.add(writer_errors=1)
                _LOG.exception("telemetry writer: unexpected error, continuing")
                if self._stopping:
                    return

    def _loop(self) -> None:
        pending: list[_Item] = []
        count = 0
        first_at = 0.0
        stopping = False
        while not stopping:
            wait = self._config.flush_interval_s
            if pending:
                wait = max(0.0, first_at + self._config.flush_interval_s - time.monotonic())
            elif len(self._spool):
                wait = min(wait, max(0.0, self._next_retry - time.monotonic()))
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is _STOP:
                stopping = True
            elif item is not None:
                if not pending:
                    first_at = time.monotonic()
                pending.append(item)
                count += len(item.readings)
                # Take whatever else is already queued, up to a full batch, without waiting.
                while count < self._config.batch_size:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stopping = True
                        break
                    pending.append(more)
                    count += len(more.readings)
            due = pending and (
                stopping
                or count >= self._config.batch_size
                or time.monotonic() - first_at >= self._config.flush_interval_s
            )
            if due:
                batch, pending, count = pending, [], 0
                try:
                    self._flush(batch, stopping)
                except Exception:
                    for done in batch:  # acknowledged: a message that broke the writer must not return
                        if done.ack is not None:
                            done.ack()
                    raise
            self._upkeep(self._maybe_replay)
            self._upkeep(self._maybe_touch)
            if not pending and self._queue.empty():
                self._busy.clear()
        self._upkeep(lambda: self._maybe_touch(force=True))

    def _upkeep(self, step: Callable[[], None]) -> None:
        """Replay and last-seen updates: an unexpected error is counted and retried on the next turn,
        never allowed to drop the messages waiting in the current batch."""
        try:
            step()
        except Exception:
            self.stats.add(writer_errors=1)
            _LOG.exception("telemetry writer: %s failed, retrying later", getattr(step, "__name__", "upkeep"))

    def _flush(self, items: list[_Item], stopping: bool) -> None:
        accepted = self._accept(items)
        while True:
            try:
                self._store(accepted)
                break
            except SpoolFullError as err:
                if stopping:
                    _LOG.error("%s; %d readings stay unacknowledged for re-delivery", err, len(accepted))
                    return
                _LOG.error("%s; pausing intake until the store is back", err)
                time.sleep(self._config.retry_interval_s)
                self._maybe_replay()
        for item in items:
            if item.ack is not None:
                item.ack()

    def _refuse(self, topic: str, reading: Reading, reason: str, detail: str) -> None:
        self.stats.add(implausible=1)
        self.refusals.record(Refusal(topic, reading.device_id, reason, f"{reading.device_id}: {detail}"))

    def _accept(self, items: list[_Item]) -> list[Reading]:
        accepted: list[Reading] = []
        store_late = self._config.late_readings == "store"
        guard = self._guard
        now = datetime.now(UTC)
        for item in items:
            for reading in item.readings:
                device = reading.device_id
                if device not in self._known and self._refresh_known(wanted=device) is False:
                    self.stats.add(unknown_device=1)
                    self.refusals.record(
                        Refusal(item.topic, "", Reason.UNKNOWN_DEVICE, f"unknown device {device[:40]!r}")
                    )
                    continue
                refused = guard.refuse_time_or_power(reading, now)
                if refused is not None:
                    self._refuse(item.topic, reading, *refused)
                    continue
                newest = self._newest.get(device)
                if newest is not None and reading.time <= newest:
                    if reading.time == newest:
                        self.stats.add(duplicates=1)
                        self._log.warn(
                            ("duplicate", item.topic),
                            "telemetry on %s: duplicate reading for %r at %s, skipped",
                            item.topic,
                            device,
                            reading.time,
                        )
                        continue
                    self.stats.add(out_of_order=1)
                    if not store_late:
                        self._log.warn(
                            ("out-of-order", item.topic),
                            "telemetry on %s: out-of-order reading for %r at %s (newest %s), skipped",
                            item.topic,
                            device,
                            reading.time,
                            newest,
                        )
                        continue
                else:
                    refused = guard.refuse_energy(reading)
                    if refused is not None:
                        self._refuse(item.topic, reading, *refused)
                        continue
                    self._newest[device] = reading.time
                accepted.append(reading)
        return accepted

    def _store(self, readings: list[Reading]) -> None:
        if not readings:
            return
        if not self._store_down and not len(self._spool):
            try:
                readings = self._write(readings)
            except StoreUnavailableError as err:
                self.stats.add(store_failures=1)
                _LOG.error("store unavailable, spooling telemetry to %s: %s", self._spool.directory, err)
                self._store_down = True
                self._next_retry = time.monotonic() + self._config.retry_interval_s
            else:
                self.stats.add(readings_stored=len(readings))
                self._note_seen(readings)
                return
        self._spool.append(readings)
        self.stats.add(readings_spooled=len(readings))

    def _maybe_replay(self) -> None:
        if not len(self._spool) or time.monotonic() < self._next_retry:
            return
        replayed = 0
        for segment in self._spool.segments():
            readings = self._spool.read(segment)
            try:
                readings = self._write(self._only_known(readings))
            except StoreUnavailableError:
                self.stats.add(store_failures=1)
                self._next_retry = time.monotonic() + self._config.retry_interval_s
                return
            self._spool.remove(segment)
            replayed += len(readings)
            self.stats.add(readings_stored=len(readings), segments_replayed=1)
            self._note_seen(readings)
        if self._store_down:
            _LOG.warning("store is back: replayed %d spooled readings", replayed)
        self._store_down = False

    def _write(self, readings: list[Reading]) -> list[Reading]:
        """Write; when the store refuses the batch (an error other than "unavailable": a device deleted
        meanwhile, a value it cannot hold), drop readings of unknown devices, then write one by one and
        drop only the refused ones. Returns what was written."""
        try:
            self._repo.write_readings(readings)
            return readings
        except StoreUnavailableError:
            raise
        except Exception as err:
            _LOG.warning(
                "store refused a batch of %d readings (%s); writing them one by one", len(readings), err
            )
        readings = self._only_known(readings, force=True)
        written = []
        for reading in readings:
            try:
                self._repo.write_readings([reading])
            except StoreUnavailableError:
                raise
            except Exception as err:
                self._refuse("store", reading, Reason.INTERNAL_ERROR, f"the store refused it: {err}"[:200])
            else:
                written.append(reading)
        return written

    def _only_known(self, readings: list[Reading], force: bool = False) -> list[Reading]:
        """Drop (and count) readings of devices the store does not know. Spooled readings of devices the
        store could not vouch for while it was down are checked here, at replay."""
        if all(r.device_id in self._known for r in readings) and not force:
            return readings
        if self._refresh_known(force=True) is not True:
            return readings  # cannot tell: keep them (the write decides)
        kept = []
        for reading in readings:
            if reading.device_id in self._known:
                kept.append(reading)
            else:
                self.stats.add(unknown_device=1)
                self.refusals.record(
                    Refusal("spool", reading.device_id, Reason.UNKNOWN_DEVICE, "device is not registered")
                )
        return kept

    def _refresh_known(self, force: bool = False, wanted: str | None = None) -> bool | None:
        """Whether ``wanted`` is a registered device; ``None`` when the store cannot tell now (it is
        down): such readings are kept, spooled, and checked again at replay."""
        now = time.monotonic()
        wait = self._config.known_devices_refresh_s if self._known_ok else self._config.retry_interval_s
        due = force or now - self._known_at >= wait
        if due and (force or not self._store_down):
            try:
                known = {d.id: d for d in self._repo.list_devices()}
            except StoreError as err:
                self._known_ok = False
                _LOG.warning("cannot refresh the device list: %s", err)
            else:
                self._known, self._known_ok = set(known), True
                ratings = {d.id: r for d in known.values() if (r := rating_w(d.attributes)) is not None}
                self._guard.set_ratings(ratings)
            self._known_at = time.monotonic()  # after the attempt: a refused one may take seconds
        if wanted is None:
            return self._known_ok
        if wanted in self._known:
            return True
        return False if self._known_ok and not self._store_down else None

    def _note_seen(self, readings: list[Reading]) -> None:
        seen = self._seen
        for r in readings:
            last = seen.get(r.device_id)
            if last is None or r.time > last:
                seen[r.device_id] = r.time

    def _maybe_touch(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self._seen or (not force and now - self._touched_at < self._config.touch_interval_s):
            return
        self._touched_at = now
        seen, self._seen = self._seen, {}
        try:
            self._repo.touch_devices(seen)
        except StoreError as err:
            _LOG.debug("last_seen update postponed: %s", err)
            for device, at in seen.items():
                self._seen.setdefault(device, at)
