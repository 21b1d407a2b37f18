"""Local wall-clock timestamps with a zone name, across both DST changes of 2024 in Paris."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shems_optimizer.app.inputs.scenario import load_scenario
from shems_optimizer.core.timestamps import LocalClock, TimestampError


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_the_repeated_autumn_hour_is_read_in_file_order() -> None:
    clock = LocalClock()
    rows = ["2024-10-27 01:30 Europe/Paris", "2024-10-27 02:30 Europe/Paris", "2024-10-27 02:30 Europe/Paris"]
    rows.append("2024-10-27T03:30[Europe/Paris]")
    got = [clock.parse(row).astimezone(UTC) for row in rows]
    assert got == [
        utc("2024-10-26T23:30Z"),
        utc("2024-10-27T00:30Z"),
        utc("2024-10-27T01:30Z"),
        utc("2024-10-27T02:30Z"),
    ]


def test_offsets_and_zones() -> None:
    clock = LocalClock()
    assert clock.parse("2024-06-01T12:00:00+02:00") == utc("2024-06-01T10:00Z")
    assert clock.parse("2024-06-01T12:00+02:00[Europe/Paris]") == utc("2024-06-01T10:00Z")
    assert clock.parse("2024-06-01 12:00 UTC") == utc("2024-06-01T12:00Z")
    with pytest.raises(TimestampError, match="not the one Europe/Paris has"):
        clock.parse("2024-06-01T12:00+01:00[Europe/Paris]")
    with pytest.raises(TimestampError, match="does not exist in Europe/Paris"):
        clock.parse("2024-03-31T02:30[Europe/Paris]")
    with pytest.raises(TimestampError, match="unknown time zone 'Europe/Atlantis'"):
        clock.parse("2024-06-01T12:00[Europe/Atlantis]")
    with pytest.raises(TimestampError, match="no UTC offset and no zone"):
        clock.parse("2024-06-01T12:00")


def test_the_optimize_command_reads_local_timestamps(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("name: x\ntimezone: Europe/Paris\n", encoding="utf-8")
    hours = [f"2024-10-27 0{h}:00 Europe/Paris" for h in (0, 1, 2)] + ["2024-10-27 02:00 Europe/Paris"]
    local = tmp_path / "local.csv"
    local.write_text(
        "timestamp,load_kw,buy_eur_per_kwh,sell_eur_per_kwh\n" + "".join(f"{h},1,0.2,0\n" for h in hours),
        encoding="utf-8",
    )
    offsets = tmp_path / "offsets.csv"
    stamps = [
        "2024-10-27T00:00+02:00",
        "2024-10-27T01:00+02:00",
        "2024-10-27T02:00+02:00",
        "2024-10-27T02:00+01:00",
    ]
    offsets.write_text(
        "timestamp,load_kw,buy_eur_per_kwh,sell_eur_per_kwh\n" + "".join(f"{h},1,0.2,0\n" for h in stamps),
        encoding="utf-8",
    )
    by_zone, by_offset = load_scenario(site, local), load_scenario(site, offsets)
    assert by_zone.series.grid.starts == by_offset.series.grid.starts
    assert by_zone.series.grid.steps == 4  # the repeated hour is two steps, not a duplicate
