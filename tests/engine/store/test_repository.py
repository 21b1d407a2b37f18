"""Shared behaviour of the repository, run against both back-ends (fixture ``repo``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shems_optimizer.adapters.store import sqlite_schema
from shems_optimizer.app.records.models import (
    CommandStatus,
    Device,
    DeviceType,
    Forecast,
    ForecastKind,
    ForecastPoint,
    Home,
    Reading,
    Schedule,
    ScheduleStatus,
    StoredPlan,
    StoreError,
)
from shems_optimizer.app.records.repository import Repository

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_schema_is_migrated_to_the_latest_version(repo: Repository) -> None:
    assert repo.schema_version() == len(sqlite_schema.MIGRATIONS)


def test_homes_round_trip_and_update(repo: Repository) -> None:
    repo.upsert_home(Home("h", "First", "UTC"))
    repo.upsert_home(Home("h", "Renamed", "Europe/Berlin"))
    repo.upsert_home(Home("a", "Another", "UTC"))
    assert repo.get_home("h") == Home("h", "Renamed", "Europe/Berlin")
    assert [h.id for h in repo.list_homes()] == ["a", "h"]
    assert repo.get_home("missing") is None


def test_home_with_unknown_time_zone_is_rejected(repo: Repository) -> None:
    with pytest.raises(StoreError, match="Mars/Olympus"):
        repo.upsert_home(Home("h", "x", "Mars/Olympus"))


def test_devices_round_trip(home_with_devices: Repository) -> None:
    repo = home_with_devices
    grid = repo.get_device("grid")
    assert grid == Device("grid", "home-1", DeviceType.GRID, "Grid meter", ("shems/grid/telemetry",))
    assert [d.id for d in repo.list_devices("home-1")] == ["grid", "hp", "pv"]
    assert repo.list_devices("other") == []
    hp = repo.get_device("hp")
    assert hp is not None and hp.firmware == "1.2.3"


def test_device_for_unknown_home_is_rejected(repo: Repository) -> None:
    with pytest.raises(StoreError, match="unknown home 'nowhere'"):
        repo.upsert_device(Device("d", "nowhere", DeviceType.LOAD, "x"))


def test_last_seen_only_moves_forward_and_survives_upsert(home_with_devices: Repository) -> None:
    repo = home_with_devices
    repo.touch_devices({"grid": T0 + timedelta(hours=2)})
    repo.touch_devices({"grid": T0 + timedelta(hours=1)})
    grid = repo.get_device("grid")
    assert grid is not None and grid.last_seen == T0 + timedelta(hours=2)
    repo.upsert_device(Device("grid", "home-1", DeviceType.GRID, "Renamed"))
    grid = repo.get_device("grid")
    assert grid is not None and grid.name == "Renamed" and grid.last_seen == T0 + timedelta(hours=2)


def test_delete_device_removes_its_commands_but_keeps_telemetry(home_with_devices: Repository) -> None:
    repo = home_with_devices
    repo.write_readings([Reading("hp", T0, power_w=500.0)])
    command = repo.create_command("hp", "set_mode", {"mode": "eco"}, T0)
    assert repo.delete_device("hp") is True
    assert repo.delete_device("hp") is False
    assert repo.get_command(command.id) is None
    assert repo.count_readings("hp") == 1


def test_readings_round_trip_in_time_order(home_with_devices: Repository) -> None:
    repo = home_with_devices
    readings = [
        Reading("grid", T0 + timedelta(seconds=10 * i), 100.0 + i, 1.5 + i / 1000, 230.0, 0.5)
        for i in range(5)
    ]
    result = repo.write_readings(list(reversed(readings)))
    assert result.received == 5
    assert repo.readings("grid", T0, T0 + timedelta(minutes=1)) == readings
    assert repo.readings("grid", T0, T0 + timedelta(minutes=1), limit=2) == readings[:2]
    assert repo.count_readings() == 5
    assert repo.count_readings("grid", start=T0 + timedelta(seconds=20)) == 3


def test_writes_are_idempotent_on_device_and_time(home_with_devices: Repository) -> None:
    repo = home_with_devices
    batch = [Reading("grid", T0 + timedelta(seconds=i), float(i)) for i in range(10)]
    repo.write_readings(batch)
    repo.write_readings(batch)  # a full replay
    repo.write_readings([*batch[5:], Reading("grid", T0 + timedelta(seconds=10), 10.0)])  # overlap
    assert repo.count_readings("grid") == 11
    assert [r.power_w for r in repo.readings("grid", T0, T0 + timedelta(minutes=1))] == [
        float(i) for i in range(11)
    ]


def test_partial_readings_merge_instead_of_erasing(home_with_devices: Repository) -> None:
    """Two HA entities (power, energy) of one device reporting at the same instant make one row."""
    repo = home_with_devices
    repo.write_readings([Reading("grid", T0, power_w=1200.0)])
    repo.write_readings([Reading("grid", T0, energy_kwh=42.5)])
    repo.write_readings([Reading("grid", T0, voltage_v=231.0), Reading("grid", T0, current_a=5.2)])
    assert repo.readings("grid", T0, T0 + timedelta(seconds=1)) == [
        Reading("grid", T0, 1200.0, 42.5, 231.0, 5.2)
    ]


def test_latest_readings_per_device(home_with_devices: Repository) -> None:
    repo = home_with_devices
    repo.write_readings(
        [
            Reading("grid", T0, 1.0),
            Reading("grid", T0 + timedelta(minutes=5), 2.0),
            Reading("pv", T0 + timedelta(minutes=1), -300.0),
        ]
    )
    latest = repo.latest_readings()
    assert latest == {
        "grid": Reading("grid", T0 + timedelta(minutes=5), 2.0),
        "pv": Reading("pv", T0 + timedelta(minutes=1), -300.0),
    }
    assert repo.latest_readings(["pv"]) == {"pv": latest["pv"]}


def test_naive_times_are_rejected(home_with_devices: Repository) -> None:
    with pytest.raises(StoreError, match="timezone-aware"):
        home_with_devices.readings("grid", datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))


def test_command_lifecycle_pending_sent_retry_acked(home_with_devices: Repository) -> None:
    repo = home_with_devices
    cmd = repo.create_command("hp", "set_mode", {"mode": "boost", "minutes": 30}, T0, correlation_id="req-1")
    assert cmd.status is CommandStatus.PENDING and cmd.attempts == 0
    repo.update_command_status(cmd.id, CommandStatus.SENT, T0 + timedelta(seconds=1))
    repo.record_command_error(cmd.id, T0 + timedelta(seconds=2), 1, "no ack within 1 s")
    repo.update_command_status(cmd.id, CommandStatus.SENT, T0 + timedelta(seconds=3))
    acked = repo.update_command_status(cmd.id, CommandStatus.ACKED, T0 + timedelta(seconds=4))
    assert repo.get_command(cmd.id) == acked
    assert acked.attempts == 2
    assert acked.sent_at == T0 + timedelta(seconds=3)
    assert acked.acked_at == T0 + timedelta(seconds=4)
    assert acked.payload == {"mode": "boost", "minutes": 30}
    assert acked.correlation_id == "req-1"
    errors = repo.command_errors(cmd.id)
    assert [(e.attempt, e.message) for e in errors] == [(1, "no ack within 1 s")]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((CommandStatus.SENT, CommandStatus.EXPIRED), CommandStatus.ACKED),  # a late ack stays refused
        ((CommandStatus.SENT, CommandStatus.ACKED), CommandStatus.SENT),
        ((CommandStatus.FAILED,), CommandStatus.PENDING),
    ],
)
def test_finished_commands_cannot_change_again(
    home_with_devices: Repository, path: tuple[CommandStatus, ...], refused: CommandStatus
) -> None:
    repo = home_with_devices
    cmd = repo.create_command("hp", "off", {}, T0)
    for step in path:
        repo.update_command_status(cmd.id, step, T0 + timedelta(seconds=1))
    with pytest.raises(StoreError, match=f"cannot go from {path[-1].value} to {refused.value}"):
        repo.update_command_status(cmd.id, refused, T0 + timedelta(seconds=2))


def test_commands_listing_and_errors(home_with_devices: Repository) -> None:
    repo = home_with_devices
    first = repo.create_command("hp", "a", {}, T0)
    second = repo.create_command("hp", "b", {}, T0 + timedelta(seconds=1))
    other = repo.create_command("grid", "c", {}, T0 + timedelta(seconds=2))
    repo.update_command_status(first.id, CommandStatus.SENT, T0 + timedelta(seconds=3))
    assert [c.id for c in repo.list_commands()] == [other.id, second.id, first.id]
    assert [c.id for c in repo.list_commands(device_id="hp")] == [second.id, first.id]
    assert [c.id for c in repo.list_commands(statuses=[CommandStatus.SENT])] == [first.id]
    assert [c.id for c in repo.list_commands(limit=1)] == [other.id]
    with pytest.raises(StoreError, match="unknown device 'ghost'"):
        repo.create_command("ghost", "x", {}, T0)
    with pytest.raises(StoreError, match="unknown command"):
        repo.update_command_status("nope", CommandStatus.SENT, T0)
    with pytest.raises(StoreError, match="already exists"):
        repo.create_command("hp", "a", {}, T0, command_id=first.id)


def test_forecasts_latest_and_issued_before(home_with_devices: Repository) -> None:
    repo = home_with_devices
    points = tuple(ForecastPoint(T0 + timedelta(hours=h), 500.0 + h, 400.0, 600.0) for h in range(3))
    old = Forecast("f1", "home-1", ForecastKind.LOAD, T0 - timedelta(days=1), "W", points, source="gbr")
    new = Forecast("f2", "home-1", ForecastKind.LOAD, T0, "W", points[:1], source="gbr")
    pv = Forecast("f3", "home-1", ForecastKind.PV, T0, "W", points, device_id="pv")
    for f in (old, new, pv):
        repo.save_forecast(f)
    assert repo.get_forecast("f1") == old
    assert repo.latest_forecast("home-1", ForecastKind.LOAD) == new
    assert repo.latest_forecast("home-1", ForecastKind.LOAD, issued_before=T0 - timedelta(hours=1)) == old
    assert repo.latest_forecast("home-1", ForecastKind.PV) is None
    assert repo.latest_forecast("home-1", ForecastKind.PV, device_id="pv") == pv
    assert repo.latest_forecast("home-1", ForecastKind.PRICE) is None


def test_plans_newest_first(home_with_devices: Repository) -> None:
    repo = home_with_devices
    plans = [
        StoredPlan(
            f"p{i}",
            "home-1",
            T0 + timedelta(minutes=15 * i),
            T0,
            T0 + timedelta(hours=48),
            "optimal",
            {"steps": [{"battery_kw": 1.5 * i}]},
            objective=4.06 - i,
        )
        for i in range(3)
    ]
    for plan in plans:
        repo.save_plan(plan)
    assert repo.latest_plan("home-1") == plans[2]
    assert repo.get_plan("p0") == plans[0]
    assert [p.id for p in repo.list_plans("home-1", since=T0 + timedelta(minutes=15))] == ["p2", "p1"]
    # The plan in force at a time: the newest made strictly before it.
    at = T0 + timedelta(minutes=30)
    assert [p.id for p in repo.list_plans("home-1", before=at, limit=1)] == ["p1"]
    assert [p.id for p in repo.list_plans("home-1", before=at + timedelta(seconds=1))] == ["p2", "p1", "p0"]
    assert repo.list_plans("home-1", before=T0) == []
    assert [p.id for p in repo.list_plans("home-1", since=T0, before=at)] == ["p1", "p0"]
    assert repo.latest_plan("nobody") is None
    with pytest.raises(StoreError, match="already exists"):
        repo.save_plan(plans[0])


def test_schedules_create_update_list_delete(home_with_devices: Repository) -> None:
    repo = home_with_devices
    dishwasher = Schedule(
        "s1",
        "home-1",
        "hp",
        "dishwasher by 07:00",
        T0,
        deadline=T0 + timedelta(hours=7),
        payload={"program": "eco"},
    )
    repo.upsert_schedule(dishwasher)
    repo.upsert_schedule(Schedule("s2", "home-1", None, "EV 80 %", T0 + timedelta(minutes=1)))
    assert repo.get_schedule("s1") == dishwasher
    done = replace(dishwasher, status=ScheduleStatus.DONE)
    repo.upsert_schedule(done)
    assert [s.id for s in repo.list_schedules("home-1")] == ["s1", "s2"]
    assert [s.id for s in repo.list_schedules("home-1", ScheduleStatus.ACTIVE)] == ["s2"]
    assert repo.delete_schedule("s2") is True
    assert repo.delete_schedule("s2") is False
    assert repo.list_schedules("home-1") == [done]
