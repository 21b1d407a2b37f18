"""SHEMS payloads and firmware mappings: table-driven, every error names its field."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shems_optimizer.adapters.ingest.mappings import BUILTIN_MAPPINGS, TopicBinding, mapping_from_options
from shems_optimizer.adapters.ingest.payload import PayloadError, parse_mapped, parse_shems
from shems_optimizer.app.records.models import Reading

NOW = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"device": "m1", "time": "2026-03-01T12:00:00Z", "power_w": 1234.5}', [Reading("m1", T, 1234.5)]),
        (
            b'{"device": "m1", "time": "2026-03-01T13:00:00+01:00", "power_kw": 1.5}',
            [Reading("m1", T, 1500.0)],
        ),
        (b'{"device": "m1", "time": 1772366400, "energy_wh": 2500}', [Reading("m1", T, energy_kwh=2.5)]),
        (b'{"device": "m1", "time": 1772366400000, "energy_kwh": 2.5}', [Reading("m1", T, energy_kwh=2.5)]),
        (
            b'{"device": "m1", "voltage_v": 231, "current_a": "0.5"}',
            [Reading("m1", NOW, None, None, 231.0, 0.5)],
        ),
        (
            b'{"device": "m1", "readings": [{"time": 1772366400, "power_w": 1}, '
            b'{"time": 1772366410, "power_w": 2}]}',
            [Reading("m1", T, 1.0), Reading("m1", datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC), 2.0)],
        ),
        (
            b'{"readings": [{"device": "a", "time": 1772366400, "power_w": 1}, '
            b'{"device": "b", "time": 1772366400, "power_w": -2}]}',
            [Reading("a", T, 1.0), Reading("b", T, -2.0)],
        ),
    ],
)
def test_shems_payloads(payload: bytes, expected: list[Reading]) -> None:
    result = parse_shems(payload, NOW)
    assert result.readings == expected
    assert result.errors == []


def test_device_from_the_topic_binding() -> None:
    binding = TopicBinding("meters/+/telemetry", device_topic_level=1)
    device = binding.device_for("meters/kitchen/telemetry")
    assert device == "kitchen"
    assert parse_shems(b'{"power_w": 5}', NOW, device).readings == [Reading("kitchen", NOW, 5.0)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"power_w": 5}', "no 'device'"),
        (b'{"device": "m1"}', "no value"),
        (b'{"device": "m1", "power": 5}', r"payload.power: unknown field"),
        (b'{"device": "m1", "power_w": "lots"}', r"payload.power_w: 'lots' is not a number"),
        (b'{"device": "m1", "power_w": NaN}', r"payload.power_w: value is not finite"),
        (b'{"device": "m1", "power_w": true}', r"payload.power_w: expected a number, got bool"),
        (
            b'{"device": "m1", "time": "2026-03-01T12:00:00", "power_w": 1}',
            r"payload.time: .* has no UTC offset",
        ),
        (b'{"device": "m1", "time": "yesterday", "power_w": 1}', "not an ISO 8601 time"),
        (b'{"device": "m\\tx", "power_w": 1}', "control characters"),
        (b'{"device": "m1", "readings": {"a": 1}}', "payload.readings: expected a list"),
    ],
)
def test_malformed_payloads_name_the_problem(payload: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_shems(payload, NOW)


def test_one_bad_reading_does_not_sink_the_batch() -> None:
    payload = (
        b'{"device": "m1", "readings": [{"time": 1772366400, "power_w": 1}, '
        b'{"time": 1772366410, "power_w": "x"}, {"time": 1772366420}, 7]}'
    )
    result = parse_shems(payload, NOW)
    assert result.readings == [Reading("m1", T, 1.0)]
    assert result.errors == [
        "readings[1].power_w: 'x' is not a number",
        "readings[2]: no value (one of power_w, power_kw, energy_kwh, energy_wh, voltage_v, current_a)",
        "readings[3]: expected an object, got int",
    ]


@pytest.mark.parametrize(
    ("mapping", "payload", "tz", "expected"),
    [
        (
            "shelly_gen2",
            b'{"id": 0, "apower": 152.3, "voltage": 230.9, "current": 0.71, '
            b'"aenergy": {"total": 12345.6, "by_minute": [1, 2, 3], "minute_ts": 1772366400}}',
            "UTC",
            Reading("plug", NOW, 152.3, 12.3456, 230.9, 0.71),
        ),
        (
            # Tasmota sends local time without an offset: 13:00 in Paris (winter) is 12:00 UTC.
            "tasmota",
            b'{"Time": "2026-03-01T13:00:00", "ENERGY": {"Total": 1.234, "Power": 85, "Voltage": 229, '
            b'"Current": 0.4}}',
            "Europe/Paris",
            Reading("plug", T, 85.0, 1.234, 229.0, 0.4),
        ),
        (
            "zigbee2mqtt",
            b'{"power": 40, "energy": 3.5, "linkquality": 120}',
            "UTC",
            Reading("plug", NOW, 40.0, 3.5),
        ),
    ],
)
def test_builtin_firmware_mappings(mapping: str, payload: bytes, tz: str, expected: Reading) -> None:
    result = parse_mapped(payload, BUILTIN_MAPPINGS[mapping], NOW, "plug", ZoneInfo(tz))
    (reading,) = result.readings
    assert reading[:2] == expected[:2]
    assert reading[2:] == pytest.approx(expected[2:])


def test_custom_mapping_with_units_and_epoch_ms() -> None:
    mapping = mapping_from_options(
        "my_meter",
        {
            "power": {"path": "m.p", "unit": "kW"},
            "energy": {"path": "m.e", "unit": "Wh"},
            "time": {"path": "ts", "format": "epoch_ms"},
            "device": "id",
        },
    )
    result = parse_mapped(
        b'{"id": "meter-9", "ts": 1772366400000, "m": {"p": 1.25, "e": 5000}}', mapping, NOW
    )
    assert result.readings == [Reading("meter-9", T, 1250.0, 5.0)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"power": {"path": "p", "unit": "kVA"}}, "unknown power unit 'kVA'"),
        ({"power": {"path": "p"}}, r"power needs \{'path': str, 'unit': str\}"),
        ({"temperature": {"path": "t", "unit": "C"}}, "unknown keys"),
        ({}, "needs at least one of"),
        (
            {"power": {"path": "p", "unit": "W"}, "time": {"path": "t", "format": "rfc822"}},
            "time format 'rfc822'",
        ),
    ],
)
def test_bad_custom_mappings_fail_at_start_up(options: dict[str, object], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        mapping_from_options("m", options)


def test_mapping_payload_without_any_mapped_field() -> None:
    with pytest.raises(PayloadError, match="none of its fields"):
        parse_mapped(b'{"linkquality": 100}', BUILTIN_MAPPINGS["zigbee2mqtt"], NOW, "plug")
