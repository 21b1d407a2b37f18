"""Time grid: steps from timestamps, variable resolution, DST, exact step averages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from shems_optimizer.core.timegrid import TimeGrid, TimeGridError, step_average

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (datetime(2026, 3, 29, tzinfo=PARIS), 23),  # spring forward
        (datetime(2026, 10, 25, tzinfo=PARIS), 25),  # fall back
        (datetime(2026, 6, 1, tzinfo=PARIS), 24),
    ],
)
def test_a_local_day_has_its_real_number_of_hours(day: datetime, hours: int) -> None:
    next_midnight = datetime.combine(day.date() + timedelta(days=1), datetime.min.time(), PARIS)
    grid = TimeGrid.between(day, next_midnight, timedelta(minutes=15), "Europe/Paris")
    assert grid.steps == hours * 4
    assert grid.end == next_midnight
    assert grid.total_hours == pytest.approx(hours)
    assert np.allclose(grid.hours, 0.25)
    assert all(b.tzinfo is not None for b in grid.boundaries)


def test_variable_resolution_first_day_fine_then_coarse() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    grid = TimeGrid.from_segments(start, [(timedelta(minutes=15), 96), (timedelta(hours=1), 24)])
    assert grid.steps == 120
    assert grid.total_hours == pytest.approx(48)
    assert grid.hours[95] == pytest.approx(0.25)
    assert grid.hours[96] == pytest.approx(1.0)
    assert grid.starts[96] == start + timedelta(days=1)


@pytest.mark.parametrize(
    "boundaries",
    [
        [datetime(2026, 1, 1), datetime(2026, 1, 1, 1)],  # naive
        [datetime(2026, 1, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)],  # backwards
        [datetime(2026, 1, 1, tzinfo=UTC)],  # no step
    ],
)
def test_bad_boundaries_are_refused(boundaries: list[datetime]) -> None:
    with pytest.raises(TimeGridError):
        TimeGrid.from_boundaries(boundaries, "UTC")


def test_step_average_is_exact_across_resolutions() -> None:
    # 15-min prices 1, 2, 3, 4 then 5, 6, 7, 8 averaged onto two 1-h steps: 2.5 and 6.5
    start = datetime(2026, 6, 1, tzinfo=UTC)
    source = np.array([start.timestamp() + 900 * i for i in range(8)])
    grid = TimeGrid.uniform(start, timedelta(hours=1), 2)
    averaged = step_average(source, np.arange(1.0, 9.0), grid, source[-1] + 900)
    assert averaged == pytest.approx([2.5, 6.5])
    # and 1-h values onto 20-min steps: each third takes its hour's value
    fine = TimeGrid.uniform(start, timedelta(minutes=20), 6)
    hourly = np.array([start.timestamp(), start.timestamp() + 3600])
    assert step_average(hourly, np.array([10.0, 40.0]), fine, hourly[-1] + 3600) == pytest.approx(
        [10, 10, 10, 40, 40, 40]
    )


def test_index_lookups_use_timestamps() -> None:
    grid = TimeGrid.uniform(datetime(2026, 6, 1, tzinfo=UTC), timedelta(hours=1), 4)
    assert grid.index_at_or_after(datetime(2026, 6, 1, 1, 30, tzinfo=UTC)) == 2
    assert grid.index_at_or_before(datetime(2026, 6, 1, 1, 30, tzinfo=UTC)) == 1
    assert grid.index_at_or_after(datetime(2026, 6, 1, 3, 0, tzinfo=ZoneInfo("Europe/Paris"))) == 1
