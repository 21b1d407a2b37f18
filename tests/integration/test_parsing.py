"""Pure parts with hand-checkable numbers: URLs, payload parsing, price shapes and units, plan figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant, State

from custom_components.shems.api import normalize_url
from custom_components.shems.models import PayloadError, parse_health, parse_meters, parse_plan, parse_status
from custom_components.shems.plan_math import cheapest_window, energy_kwh, last_soc_before, local_day_bounds
from custom_components.shems.price_source import (
    PriceSourceError,
    current_price,
    price_forecast,
    unit_scale,
    validate_price_entity,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://10.0.0.2:8099/", "http://10.0.0.2:8099"),
        ("  10.0.0.2:8099 ", "http://10.0.0.2:8099"),
        ("https://shems.example/base/?x=1#y", "https://shems.example/base"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize("raw", ["ftp://host", "http://", "mailto:x@y"])
def test_normalize_url_refuses(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_url(raw)


T0 = "2026-03-29T00:00:00+01:00"


@pytest.mark.parametrize(
    ("parser", "payload", "message"),
    [
        (parse_health, {"status": "ok"}, "health.instance_id: missing"),
        (parse_health, [], "health: expected an object, got list"),
        (parse_status, {"cost_today": "12"}, "status.cost_today: expected a number, got str"),
        (parse_status, {"last_run": "yesterday"}, "status.last_run: not an ISO 8601 timestamp: 'yesterday'"),
        (parse_status, {"last_run": "2026-01-01T00:00:00"}, "status.last_run: timestamp without a time zone"),
        (parse_plan, {"status": "optimal", "steps": {}}, "plan.steps: expected a list, got dict"),
        (parse_plan, {"status": "optimal", "steps": [{"start": T0}]}, "plan.steps[0].end: missing"),
        (
            parse_plan,
            {"status": "optimal", "appliances": [{"planned_start": T0}]},
            "plan.appliances[0].id: missing",
        ),
        (
            parse_meters,
            {"devices": [{"device_id": "m1", "status": {"power_w": True}}]},
            "devices[0].status.power_w: expected a number, got bool",
        ),
        (parse_meters, {"devices": "none"}, "devices: expected a list, got str"),
    ],
)
def test_malformed_payloads_name_the_field(parser: Any, payload: Any, message: str) -> None:
    with pytest.raises(PayloadError) as err:
        parser(payload)
    assert message in str(err.value)


def test_site_devices_mirroring_home_assistant_sensors_are_not_meters() -> None:
    payload = {
        "devices": [
            {"device_id": "site-grid", "name": "Grid", "source": "site", "status": {"power_w": 500.0}},
            {"device_id": "washer", "name": "Washer", "source": "registered", "status": {"power_w": 2000.0}},
            {"device_id": "fridge", "name": "Fridge", "status": {"energy_kwh": 1.5}},
        ]
    }
    assert [(m.meter_id, m.power_w, m.energy_kwh) for m in parse_meters(payload)] == [
        ("washer", 2000.0, None),
        ("fridge", None, 1.5),
    ]


def test_non_finite_numbers_read_as_unknown() -> None:
    status = parse_status({"cost_today": float("nan"), "savings_today": 1.5})
    assert status.cost_today is None
    assert status.savings_today == 1.5


def plan_of(steps: list[tuple[str, str, dict[str, Any]]], **extra: Any) -> Any:
    return parse_plan(
        {"id": "p", "status": "optimal", "steps": [{"start": a, "end": b, **v} for a, b, v in steps], **extra}
    )


def test_plan_figures_on_a_dst_day() -> None:
    """29 March 2026 in Berlin has 23 hours; energy sums use the real step lengths."""
    steps = [
        ("2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", {"pv_w": 0, "import_price": 0.30}),
        # 01:00 → 03:00 local is one hour of wall time across the clock change.
        ("2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", {"pv_w": 2000, "import_price": 0.10}),
        ("2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", {"pv_w": 500, "import_price": 0.10}),
        (
            "2026-03-29T23:30:00+02:00",
            "2026-03-30T00:30:00+02:00",
            {"pv_w": 1000, "import_price": 0.50, "assets": {"b": {"soc_pct": 40}}},
        ),
    ]
    plan = plan_of(steps)
    day_start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC) - timedelta(hours=1)
    day_end = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    # 0 + 2000 W x 1 h + 500 W x 1 h + 1000 W x 0.5 h (only the part before midnight) = 3.0 kWh
    assert energy_kwh(plan, lambda s: s.pv_w, day_start, day_end) == 3.0
    assert last_soc_before(plan, "b", datetime(2026, 3, 30, 0, 0, tzinfo=UTC)) == 40
    assert last_soc_before(plan, "b", day_end) is None
    assert energy_kwh(plan, lambda s: s.load_w, day_start, day_end) is None


def test_the_cheapest_window_is_the_add_ons_answer() -> None:
    """The integration shows what the plan carries for the moment asked, and works out nothing."""
    steps = [
        ("2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", {"import_price": 0.30}),
        ("2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", {"import_price": 0.10}),
        ("2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", {"import_price": 0.20}),
    ]
    night = {"start": "2026-03-29T01:00:00+01:00", "end": "2026-03-29T03:00:00+02:00", "price": 0.1}
    late = {"start": "2026-03-29T03:00:00+02:00", "end": "2026-03-29T04:00:00+02:00", "price": 0.2}
    answers = [
        {"from": "2026-03-29T00:00:00+01:00", "next_24h": night, "today": night},
        {"from": "2026-03-29T03:00:00+02:00", "next_24h": late, "today": None},
    ]
    plan = plan_of(steps, cheapest_windows=answers)
    window = cheapest_window(plan, datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    assert window is not None and window.price == 0.10
    assert (window.start, window.end) == (
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    )
    # From the second answer on (01:00 UTC), that one: also for "today" (none left today, here).
    assert cheapest_window(plan, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)).price == 0.2  # type: ignore[union-attr]
    assert cheapest_window(plan, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), today=True) is None
    # Before the plan's answers begin, after its end, or from a plan without answers: nothing.
    assert cheapest_window(plan, datetime(2026, 3, 28, 22, 30, tzinfo=UTC)) is None
    assert cheapest_window(plan, datetime(2026, 3, 30, 12, 0, tzinfo=UTC)) is None
    assert cheapest_window(plan_of(steps), datetime(2026, 3, 28, 23, 30, tzinfo=UTC)) is None
    # A running window begins with whichever step is in force.
    running = [{"from": "2026-03-29T00:00:00+01:00", "next_24h": {**night, "running": True}, "today": None}]
    window = cheapest_window(
        plan_of(steps, cheapest_windows=running), datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    )
    assert window is not None and window.start == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # the 0.10 step
    with pytest.raises(PayloadError, match=r"plan.cheapest_windows\[0\].next_24h.price"):
        plan_of(steps, cheapest_windows=[{**answers[0], "next_24h": {**night, "price": "cheap"}}])


async def test_local_day_bounds_follow_dst(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    start, end = local_day_bounds(datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert end - start == timedelta(hours=23)
    start, end = local_day_bounds(datetime(2026, 10, 25, 12, 0, tzinfo=UTC))
    assert end - start == timedelta(hours=25)


@pytest.mark.parametrize(
    ("unit", "scale"),
    [
        ("EUR/kWh", 1.0),
        ("EUR/MWh", 0.001),
        ("ct/kWh", 0.01),
        ("öre/kWh", 0.01),
        ("p/kWh", 0.01),
        ("EUR/Wh", 1000.0),
        (None, 1.0),
    ],
)
def test_unit_scale(unit: str | None, scale: float) -> None:
    assert unit_scale(unit) == pytest.approx(scale)


@pytest.mark.parametrize(
    ("attributes", "first_price"),
    [
        # Nord Pool (custom integration): raw_today with start/end/value.
        (
            {
                "unit_of_measurement": "EUR/kWh",
                "raw_today": [
                    {"start": "2026-01-01T00:00:00+01:00", "end": "2026-01-01T01:00:00+01:00", "value": 0.21}
                ],
            },
            0.21,
        ),
        # ENTSO-e: prices with time/price in EUR/MWh.
        (
            {
                "unit_of_measurement": "EUR/MWh",
                "prices": [{"time": "2026-01-01T00:00:00+01:00", "price": 87.0}],
            },
            0.087,
        ),
        # EPEX Spot: data with start_time/end_time/price_per_kwh.
        (
            {
                "unit_of_measurement": "EUR/kWh",
                "data": [
                    {
                        "start_time": "2026-01-01T00:00:00+01:00",
                        "end_time": "2026-01-01T00:15:00+01:00",
                        "price_per_kwh": 0.19,
                    }
                ],
            },
            0.19,
        ),
        # Octopus: rates with value_inc_vat in p/kWh.
        (
            {
                "unit_of_measurement": "p/kWh",
                "rates": [
                    {
                        "start": "2026-01-01T00:00:00+00:00",
                        "end": "2026-01-01T00:30:00+00:00",
                        "value_inc_vat": 24.5,
                    }
                ],
            },
            0.245,
        ),
    ],
    ids=["nordpool", "entsoe", "epex_spot", "octopus"],
)
def test_price_shapes(attributes: dict[str, Any], first_price: float) -> None:
    state = State("sensor.price", "1", attributes)
    forecast = price_forecast(state)
    assert len(forecast) == 1
    assert forecast[0].price_per_kwh == pytest.approx(first_price)
    assert forecast[0].end > forecast[0].start


def test_price_forecast_skips_bad_items_and_duplicates() -> None:
    state = State(
        "sensor.price",
        "0.2",
        {
            "raw_today": [
                {"start": "2026-01-01T00:00:00+01:00", "value": 0.2},
                {"start": "2026-01-01T00:00:00+01:00", "value": 0.9},  # duplicate start: first wins
                {"start": "2026-01-01T01:00:00", "value": 0.2},  # no time zone
                {"start": "2026-01-01T02:00:00+01:00", "value": float("nan")},
                {"start": "2026-01-01T03:00:00+01:00", "end": "2026-01-01T02:00:00+01:00", "value": 0.2},
                {"start": "2026-01-01T04:00:00+01:00", "value": True},
                "garbage",
            ],
            "raw_tomorrow": None,
        },
    )
    assert [(p.start.hour, p.price_per_kwh) for p in price_forecast(state)] == [(0, 0.2)]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (None, "sensor.price does not exist"),
        (State("sensor.price", "unknown", {}), "has no numeric state"),
        (State("sensor.price", "nan", {}), "has no finite state"),
        (State("sensor.price", "0.3", {}), "has no price forecast attribute"),
    ],
)
def test_price_entity_problems(state: State | None, message: str) -> None:
    with pytest.raises(PriceSourceError) as err:
        validate_price_entity(state, "sensor.price")
    assert message in str(err.value)


def test_current_price_scales_units() -> None:
    assert current_price(State("sensor.p", "250", {"unit_of_measurement": "EUR/MWh"})) == pytest.approx(0.25)
