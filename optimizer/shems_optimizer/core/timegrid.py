"""The planning horizon as a sequence of timezone-aware steps.

Steps are built from timestamps, never from a step count times a fixed length, so a horizon that
crosses a DST change has the right number of real hours, and the first hours of a plan can use finer
steps (e.g. 15 min) than the rest (e.g. 60 min). All arithmetic is done in UTC; the site's time zone
is kept only to show times to people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class TimeGridError(ValueError):
    """A horizon that cannot be planned on (naive timestamps, unordered steps, ...)."""


@dataclass(frozen=True, eq=False)
class TimeGrid:
    """Consecutive steps ``[boundaries[i], boundaries[i+1])`` of a plan.

    ``boundaries`` are timezone-aware and strictly increasing; ``tz`` is the zone used to show them.
    """

    boundaries: tuple[datetime, ...]
    tz: tzinfo

    def __post_init__(self) -> None:
        if len(self.boundaries) < 2:
            raise TimeGridError("a horizon needs at least one step (two boundaries)")
        for moment in self.boundaries:
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise TimeGridError(f"timestamp {moment.isoformat()} has no time zone; give an offset")
        epoch = self._epoch_seconds()
        if np.any(np.diff(epoch) <= 0):
            bad = int(np.argmax(np.diff(epoch) <= 0))
            raise TimeGridError(
                f"step {bad} does not move forward in time "
                f"({self.boundaries[bad].isoformat()} -> {self.boundaries[bad + 1].isoformat()})"
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_boundaries(cls, boundaries: Sequence[datetime], tz: tzinfo | str | None = None) -> TimeGrid:
        zone = _zone(tz) if tz is not None else boundaries[0].tzinfo
        if zone is None:
            raise TimeGridError("timestamps need a time zone")
        return cls(tuple(b.astimezone(zone) if b.tzinfo else b for b in boundaries), zone)

    @classmethod
    def uniform(
        cls, start: datetime, step: timedelta, count: int, tz: tzinfo | str | None = None
    ) -> TimeGrid:
        """``count`` steps of equal real duration from ``start`` (across DST this is still ``step``)."""
        return cls.from_segments(start, [(step, count)], tz)

    @classmethod
    def between(
        cls, start: datetime, end: datetime, step: timedelta, tz: tzinfo | str | None = None
    ) -> TimeGrid:
        """Equal steps from ``start`` to ``end``, counted in real (UTC) time.

        Subtracting two aware datetimes of the same zone in Python gives the wall-clock difference
        (24 h for a 23-h DST day); this counts real time, so a local day has 92, 96 or 100 quarter-hours.
        """
        _aware(start)
        _aware(end)
        seconds = end.astimezone(UTC).timestamp() - start.astimezone(UTC).timestamp()
        count = seconds / step.total_seconds()
        if count < 1 or abs(count - round(count)) > 1e-9:
            raise TimeGridError(
                f"{start.isoformat()} .. {end.isoformat()} is not a whole number of {step} steps"
            )
        return cls.from_segments(start, [(step, round(count))], tz)

    @classmethod
    def from_segments(
        cls, start: datetime, segments: Sequence[tuple[timedelta, int]], tz: tzinfo | str | None = None
    ) -> TimeGrid:
        """Variable resolution: e.g. ``[(15 min, 96), (60 min, 24)]`` = 24 h fine then 24 h coarse."""
        if start.tzinfo is None:
            raise TimeGridError(f"horizon start {start.isoformat()} has no time zone")
        zone = _zone(tz) if tz is not None else start.tzinfo
        assert zone is not None
        moment = start.astimezone(UTC)
        out = [moment]
        for step, count in segments:
            if step <= timedelta(0):
                raise TimeGridError(f"step length must be positive, got {step}")
            if count < 0:
                raise TimeGridError(f"step count must not be negative, got {count}")
            for _ in range(count):
                moment = moment + step
                out.append(moment)
        return cls(tuple(m.astimezone(zone) for m in out), zone)

    # ------------------------------------------------------------------ views
    @property
    def steps(self) -> int:
        return len(self.boundaries) - 1

    def __len__(self) -> int:
        return self.steps

    @property
    def starts(self) -> tuple[datetime, ...]:
        return self.boundaries[:-1]

    @property
    def ends(self) -> tuple[datetime, ...]:
        return self.boundaries[1:]

    @property
    def start(self) -> datetime:
        return self.boundaries[0]

    @property
    def end(self) -> datetime:
        return self.boundaries[-1]

    def _epoch_seconds(self) -> FloatArray:
        return np.array([b.timestamp() for b in self.boundaries], dtype=np.float64)

    @property
    def epoch_seconds(self) -> FloatArray:
        """Boundaries as POSIX seconds (length ``steps + 1``)."""
        cached: FloatArray | None = self.__dict__.get("_epoch")
        if cached is None:
            cached = self._epoch_seconds()
            object.__setattr__(self, "_epoch", cached)
        return cached

    @property
    def hours(self) -> FloatArray:
        """Length of every step in hours (the Δt of every energy balance)."""
        cached: FloatArray | None = self.__dict__.get("_hours")
        if cached is None:
            cached = np.diff(self.epoch_seconds) / 3600.0
            object.__setattr__(self, "_hours", cached)
        return cached

    @property
    def total_hours(self) -> float:
        return float((self.epoch_seconds[-1] - self.epoch_seconds[0]) / 3600.0)

    def index_at_or_after(self, moment: datetime) -> int:
        """First boundary index ``i`` with ``boundaries[i] >= moment`` (``steps`` + 1 if none)."""
        return int(np.searchsorted(self.epoch_seconds, _aware(moment).timestamp() - 1e-6, side="left"))

    def index_at_or_before(self, moment: datetime) -> int:
        """Last boundary index ``i`` with ``boundaries[i] <= moment`` (-1 if none)."""
        return int(np.searchsorted(self.epoch_seconds, _aware(moment).timestamp() + 1e-6, side="right")) - 1

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def __repr__(self) -> str:
        return f"TimeGrid({self.start.isoformat()} .. {self.end.isoformat()}, {self.steps} steps)"


def floor_quarter(moment: datetime) -> datetime:
    """The start (UTC) of the 15-minute bucket holding ``moment``: every zone's offset is a multiple
    of 15 minutes, so it is a quarter hour in local time too."""
    utc = moment.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def _zone(tz: tzinfo | str) -> tzinfo:
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (KeyError, ValueError) as err:
            raise TimeGridError(f"unknown time zone {tz!r}") from err
    return tz


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimeGridError(f"timestamp {moment.isoformat()} has no time zone; give an offset")
    return moment


def step_average(
    source_seconds: FloatArray, source_values: FloatArray, grid: TimeGrid, source_end: float | None = None
) -> FloatArray:
    """Time-weighted average of a piecewise-constant series over every grid step.

    Sample ``i`` holds from ``source_seconds[i]`` to ``source_seconds[i+1]`` (the last one until
    ``source_end``, by default one median sample length later). Integrating and differencing makes the
    result exact for any mix of source and grid resolutions (15-min prices on a 60-min grid, 30-min
    load on a 5-min grid, ...). The caller checks coverage and NaNs first.
    """
    if source_seconds.size == 0:
        raise TimeGridError("empty series")
    if source_end is None:
        length = float(np.median(np.diff(source_seconds))) if source_seconds.size > 1 else 3600.0
        source_end = float(source_seconds[-1] + length)
    edges = np.append(source_seconds, source_end)
    cumulative = np.concatenate(([0.0], np.cumsum(source_values * np.diff(edges))))
    at = np.interp(grid.epoch_seconds, edges, cumulative)
    result: FloatArray = np.diff(at) / np.diff(grid.epoch_seconds)
    return result
