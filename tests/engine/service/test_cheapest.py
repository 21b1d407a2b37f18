"""The add-on's one cheapest-window rule, checked by hand on short plans (DST days included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from shems_optimizer.app.planning.cheapest import (
    PriceStep,
    Window,
    cheapest_window,
    cheapest_windows,
    window_at,
)

PARIS = ZoneInfo("Europe/Paris")


def steps(start: datetime, prices: list[float], minutes: int = 15) -> list[PriceStep]:
    step = timedelta(minutes=minutes)
    return [PriceStep(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(prices)]


def test_the_first_lowest_run_not_yet_ended() -> None:
    start = datetime(2026, 6, 1, 10, tzinfo=UTC)
    plan = steps(start, [0.3] * 4 + [0.1] * 4 + [0.2] * 4 + [0.1] * 4)  # an hourly 0.10 twice
    assert cheapest_window(plan, start) == Window(start + timedelta(hours=1), start + timedelta(hours=2), 0.1)
    # Inside the first cheap hour it runs from the step in force to its end; then the next one.
    mid = start + timedelta(hours=1, minutes=20)
    assert cheapest_window(plan, mid) == Window(mid - timedelta(minutes=5), start + timedelta(hours=2), 0.1)
    later = start + timedelta(hours=2)
    assert cheapest_window(plan, later) == Window(start + timedelta(hours=3), start + timedelta(hours=4), 0.1)
    assert cheapest_window(plan, start + timedelta(hours=4)) is None  # every step has ended


def test_only_the_next_24_hours_count() -> None:
    start = datetime(2026, 6, 1, 0, tzinfo=UTC)
    plan = steps(start, [0.3] * 24 + [0.1] + [0.3] * 23, minutes=60)  # 0.10 at hour 24: just outside
    assert cheapest_window(plan, start) == Window(start, start + timedelta(hours=24), 0.3)
    later = start + timedelta(hours=1)
    assert cheapest_window(plan, later) == Window(
        later + timedelta(hours=23), later + timedelta(hours=24), 0.1
    )


def test_today_is_the_rest_of_the_local_day_of_a_dst_change() -> None:
    # 25 October 2026 in Paris has 25 hours; the plan starts at local 00:00 (22:00 UTC the day before).
    start = datetime(2026, 10, 25, tzinfo=PARIS).astimezone(UTC)
    prices = [0.3] * 24 + [0.2] + [0.05] * 3  # hour 24 (local 23:00) is still today; 25+ tomorrow
    plan = steps(start, prices, minutes=60)
    by_day = cheapest_windows(plan, PARIS)
    first = by_day[0]
    assert first["from"] == start.isoformat()
    assert first["today"] == {
        "start": (start + timedelta(hours=24)).isoformat(),
        "end": (start + timedelta(hours=25)).isoformat(),
        "price": 0.2,
        "running": False,
    }
    assert first["next_24h"]["price"] == 0.3  # the 0.05 hours start 25 h later
    # Each entry holds until the next begins; the lookup picks the one in force.
    document = {
        "steps": [{"start": p.start.isoformat(), "end": p.end.isoformat()} for p in plan],
        "cheapest_windows": by_day,
    }
    at = start + timedelta(hours=2, minutes=10)
    in_force = [e for e in by_day if datetime.fromisoformat(e["from"]) <= at][-1]["next_24h"]
    assert window_at(document, at) == in_force
    assert window_at(document, plan[-1].end) is None


def test_today_follows_the_site_zone_not_utc() -> None:
    auckland = ZoneInfo("Pacific/Auckland")  # UTC+13 in January: local midnight is 11:00 UTC
    start = datetime(2026, 1, 10, 9, tzinfo=UTC)  # 22:00 local
    plan = steps(start, [0.3, 0.3, 0.1, 0.3], minutes=60)  # 0.10 at local 00:00: tomorrow there
    (first, *_) = cheapest_windows(plan, auckland)
    assert first["today"]["price"] == 0.3 and first["next_24h"]["price"] == 0.1
    assert first["today"]["end"] == datetime(2026, 1, 10, 11, tzinfo=UTC).isoformat()  # until local midnight


def test_equal_answers_are_listed_once_and_a_running_window_once() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    plan = steps(start, [0.3] * 4 + [0.1] * 4)
    answers = cheapest_windows(plan, ZoneInfo("UTC"))
    # The same window ahead from the first four steps; from its own first step it runs, and one
    # entry covers the steps it runs through.
    assert [datetime.fromisoformat(e["from"]) for e in answers] == [start, start + timedelta(hours=1)]
    assert [e["next_24h"]["running"] for e in answers] == [False, True]
    document = {
        "steps": [{"start": p.start.isoformat(), "end": p.end.isoformat()} for p in plan],
        "cheapest_windows": answers,
    }
    # Looked up while it runs, the window begins with the step in force (as the rule says).
    at = start + timedelta(hours=1, minutes=40)
    expected = cheapest_window(plan, at)
    assert expected is not None
    got = window_at(document, at)
    assert got is not None
    assert (got["start"], got["end"], got["price"]) == (
        expected.start.isoformat(),
        expected.end.isoformat(),
        expected.price,
    )


def test_a_time_of_use_plan_carries_few_answers() -> None:
    """48 h of 15-minute steps, peak 17-21 local: a handful of entries, not one per step."""
    paris_start = datetime(2026, 6, 9, 8, 15, tzinfo=UTC)
    prices = [
        0.4 if 17 <= (paris_start + timedelta(minutes=15 * i)).astimezone(PARIS).hour < 21 else 0.2
        for i in range(192)
    ]
    answers = cheapest_windows(steps(paris_start, prices), PARIS)
    assert len(answers) <= 12
