"""Unit conversion and the disk spool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shems_optimizer.adapters.ingest.spool import DiskSpool, SpoolFullError
from shems_optimizer.adapters.ingest.units import Quantity, UnitError, factor, quantity_for_unit
from shems_optimizer.app.records.models import Reading


@pytest.mark.parametrize(
    ("quantity", "unit", "expected"),
    [
        (Quantity.POWER, "W", 1.0),
        (Quantity.POWER, "kW", 1000.0),
        (Quantity.ENERGY, "Wh", 0.001),
        (Quantity.ENERGY, "kWh", 1.0),
        (Quantity.ENERGY, "MWh", 1000.0),
        (Quantity.CURRENT, "mA", 0.001),
    ],
)
def test_factors(quantity: Quantity, unit: str, expected: float) -> None:
    assert factor(quantity, unit, "sensor.x") == expected


@pytest.mark.parametrize(
    ("quantity", "unit", "message"),
    [
        (Quantity.POWER, "kWh", r"sensor.x: unknown power unit 'kWh'"),
        (Quantity.ENERGY, "W", r"sensor.x: unknown energy unit 'W'"),
        (Quantity.POWER, None, r"sensor.x: no unit of measurement for power"),
        (Quantity.POWER, "BTU/h", r"unknown power unit 'BTU/h'"),
    ],
)
def test_unknown_units_are_rejected_naming_the_source(
    quantity: Quantity, unit: str | None, message: str
) -> None:
    with pytest.raises(UnitError, match=message):
        factor(quantity, unit, "sensor.x")


def test_quantity_for_unit() -> None:
    assert quantity_for_unit("kW") is Quantity.POWER
    assert quantity_for_unit("Wh") is Quantity.ENERGY
    assert quantity_for_unit("°C") is None


T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_spool_round_trip_in_order_and_survives_reopen(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    first = [Reading("a", T0, 1.5), Reading("b", T0 + timedelta(microseconds=7), None, 2.25, 230.0, None)]
    second = [Reading("a", T0 + timedelta(seconds=1), -0.1)]
    spool.append(first)
    spool.append(second)
    (tmp_path / "000000000099.tmp").write_text("half-written")  # a crash mid-write
    reopened = DiskSpool(tmp_path)
    segments = reopened.segments()
    assert [reopened.read(s) for s in segments] == [first, second]
    assert not (tmp_path / "000000000099.tmp").exists()
    reopened.remove(segments[0])
    third = reopened.append(first)
    assert third.sequence == 3
    assert [s.sequence for s in reopened.segments()] == [2, 3]


def test_spool_refuses_beyond_its_limit(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path, max_bytes=60)
    spool.append([Reading("a", T0, 1.0)])
    with pytest.raises(SpoolFullError, match="is full"):
        spool.append([Reading("a", T0, 1.0)] * 5)
    assert len(spool) == 1


def test_repeated_problems_are_logged_a_few_times_then_summarised(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from shems_optimizer.adapters.ingest.pipeline import _LogLimiter

    limiter = _LogLimiter(burst=2, window_s=3600.0)
    with caplog.at_level(logging.WARNING, logger="shems_optimizer.adapters.ingest"):
        for i in range(5):
            limiter.warn(("duplicate", "meters/a"), "telemetry on %s: duplicate %d", "meters/a", i)
        limiter.warn(("duplicate", "meters/b"), "telemetry on %s: duplicate %d", "meters/b", 0)
    assert [r.getMessage() for r in caplog.records] == [
        "telemetry on meters/a: duplicate 0",
        "telemetry on meters/a: duplicate 1",
        "telemetry on meters/b: duplicate 0",
    ]
    caplog.clear()
    limiter._window = 0.0  # the window has passed: the suppressed count is reported
    with caplog.at_level(logging.WARNING, logger="shems_optimizer.adapters.ingest"):
        limiter.warn(("duplicate", "meters/a"), "telemetry on %s: duplicate %d", "meters/a", 9)
    assert [r.getMessage() for r in caplog.records] == [
        "telemetry on meters/a: 3 more duplicate messages were not logged",
        "telemetry on meters/a: duplicate 9",
    ]
