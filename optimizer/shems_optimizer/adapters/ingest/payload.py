"""Parsing telemetry payloads into :class:`~shems_optimizer.app.records.models.Reading` values.

Two kinds of payload are understood (docs/telemetry.md has examples):

* the **SHEMS JSON payload** — one reading, a batch for one device, or a gateway batch for several::

    {"device": "meter-1", "time": "2026-03-01T12:00:00Z", "power_w": 1234.5, "energy_kwh": 42.1}
    {"device": "meter-1", "readings": [{"time": 1772366400, "power_w": 1234.5}, ...]}
    {"readings": [{"device": "meter-1", "time": ..., "power_w": ...}, {"device": "meter-2", ...}]}

  Value keys carry their unit: ``power_w`` / ``power_kw``, ``energy_kwh`` / ``energy_wh``,
  ``voltage_v``, ``current_a``. ``time`` is ISO 8601 with an offset, or Unix seconds (a number above
  1e11 is read as milliseconds); without ``time`` the receive time is used.

* **firmware JSON** through a :class:`FieldMapping` (dotted paths + units), with built-in mappings for
  Shelly Gen2+, Tasmota and Zigbee2MQTT (:mod:`shems_optimizer.adapters.ingest.mappings`).

Every problem raises or reports :class:`PayloadError` with a message naming the field; non-finite
numbers (NaN, infinity) are rejected, not stored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shems_optimizer.adapters.ingest.units import Quantity, UnitError, factor
from shems_optimizer.app.records.models import Reading

_MS_THRESHOLD = 1e11  # Unix seconds stay below this until year 5138; milliseconds are above it.
_MAX_DEVICE_ID = 128


class PayloadError(ValueError):
    """A payload (or one reading in it) cannot be turned into readings; the message names the field.

    ``reason`` is a short stable code (counted per device in the metrics and dead letters):
    ``invalid_json``, ``invalid_device``, ``invalid_time``, ``invalid_value`` or ``invalid_payload``.
    ``device`` is the device the reading named, when it named a valid one.
    """

    def __init__(self, message: str, reason: str = "invalid_payload", device: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.device = device


@dataclass(frozen=True)
class ParseResult:
    readings: list[Reading]
    problems: list[PayloadError]  # per-reading problems; the other readings of the message are kept

    @property
    def errors(self) -> list[str]:
        return [str(problem) for problem in self.problems]


@dataclass(frozen=True)
class FieldSpec:
    """Where a value sits in firmware JSON (dotted path) and its unit."""

    path: str
    unit: str


class TimeFormat:
    ISO = "iso"  # ISO 8601 with offset (naive values read in the binding's time zone)
    EPOCH_S = "epoch_s"
    EPOCH_MS = "epoch_ms"


@dataclass(frozen=True)
class FieldMapping:
    """How to read one firmware's JSON: a path and unit per value, optionally a time and device path."""

    name: str
    power: FieldSpec | None = None
    energy: FieldSpec | None = None
    voltage: FieldSpec | None = None
    current: FieldSpec | None = None
    time_path: str | None = None
    time_format: str = TimeFormat.ISO
    device_path: str | None = None


def check_device_id(device_id: Any, where: str) -> str:
    if not isinstance(device_id, str) or not device_id:
        shown = repr(device_id)[:40] if isinstance(device_id, str) else type(device_id).__name__
        raise PayloadError(f"{where}: device must be a non-empty string, got {shown}", "invalid_device")
    if len(device_id) > _MAX_DEVICE_ID or any(ord(c) < 32 for c in device_id) or "\\" in device_id:
        raise PayloadError(
            f"{where}: device id {device_id[:40]!r} has control characters or is too long", "invalid_device"
        )
    return device_id


def parse_time(value: Any, field: str, tz: ZoneInfo | None = None, fmt: str = TimeFormat.ISO) -> datetime:
    """A timezone-aware UTC datetime from ISO text or Unix seconds/milliseconds."""
    if isinstance(value, bool):
        raise PayloadError(f"{field}: expected a time, got {value!r}")
    if isinstance(value, int | float):
        try:
            if not math.isfinite(value):
                raise PayloadError(f"{field}: time is not finite ({_shown(value)})", "invalid_time")
            seconds = value / 1000 if fmt == TimeFormat.EPOCH_MS or value > _MS_THRESHOLD else value
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as err:  # 400-digit integers overflow the float
            if isinstance(err, PayloadError):
                raise
            raise PayloadError(f"{field}: time {_shown(value)} is out of range", "invalid_time") from err
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as err:
            raise PayloadError(f"{field}: {value[:40]!r} is not an ISO 8601 time", "invalid_time") from err
        if parsed.tzinfo is None:
            if tz is None:
                raise PayloadError(
                    f"{field}: {value[:40]!r} has no UTC offset (add 'Z' or '+01:00')", "invalid_time"
                )
            parsed = parsed.replace(tzinfo=tz)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as err:  # 9999-12-31T23:30-01:00 and 0001-01-01T00:00+01:00 leave the range
            raise PayloadError(f"{field}: {value[:40]!r} is out of range", "invalid_time") from err
    raise PayloadError(
        f"{field}: expected ISO 8601 text or Unix seconds, got {type(value).__name__}", "invalid_time"
    )


def _shown(value: object) -> str:
    """A value for a message, cut short (a 5,000-digit number must not fill the log)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond the digit limit of str()
        return "a number too large to show"
    return text if len(text) <= 40 else f"{text[:37]}..."


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise PayloadError(f"{field}: {value[:40]!r} is not a number", "invalid_value") from None
        else:
            raise PayloadError(f"{field}: expected a number, got {type(value).__name__}", "invalid_value")
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        raise PayloadError(f"{field}: {_shown(value)} is too large", "invalid_value") from None
    if not math.isfinite(number):
        raise PayloadError(f"{field}: value is not finite ({_shown(value)})", "invalid_value")
    return number


# SHEMS payload value keys: key -> (index among power, energy, voltage, current; factor to stored unit)
_SHEMS_KEYS: dict[str, tuple[int, float]] = {
    "power_w": (0, 1.0),
    "power_kw": (0, 1000.0),
    "energy_kwh": (1, 1.0),
    "energy_wh": (1, 0.001),
    "voltage_v": (2, 1.0),
    "current_a": (3, 1.0),
}
_SHEMS_META = frozenset({"device", "time", "readings"})


_VALID_DEVICE_IDS: set[str] = set()


def _device(value: Any, where: str) -> str:
    # Validated ids are remembered: a gateway sends the same few ids thousands of times per second.
    if type(value) is str and value in _VALID_DEVICE_IDS:
        return str(value)
    device = check_device_id(value, where)
    if len(_VALID_DEVICE_IDS) < 100_000:
        _VALID_DEVICE_IDS.add(device)
    return device


def _shems_reading(item: Any, device_id: str | None, received_at: datetime, where: str | int) -> Reading:
    """One reading of a SHEMS payload; ``where`` is its index in ``readings`` (or a label)."""
    if type(item) is not dict:
        raise PayloadError(f"{_where(where)}: expected an object, got {type(item).__name__}")
    device = item.get("device", device_id)
    if device is None:
        raise PayloadError(
            f"{_where(where)}: no 'device' (in the reading, the message, or the topic binding)"
        )
    device = _device(device, f"{_where(where)}.device")
    time_value = item.get("time")
    if type(time_value) is float or type(time_value) is int:  # fast path: Unix seconds
        if not 0 < time_value < _MS_THRESHOLD:
            time = _timed(time_value, f"{_where(where)}.time", device)
        else:
            time = datetime.fromtimestamp(time_value, UTC)
    elif time_value is None:
        time = received_at
    else:
        time = _timed(time_value, f"{_where(where)}.time", device)
    try:
        return _shems_values(item, device, time, where)
    except PayloadError as err:
        err.device = device
        raise


def _shems_values(item: dict[str, Any], device: str, time: datetime, where: str | int) -> Reading:
    values: list[float | None] = [None, None, None, None]
    found = False
    for key, raw in item.items():
        spec = _SHEMS_KEYS.get(key)
        if spec is None:
            if key not in _SHEMS_META:
                raise PayloadError(
                    f"{_where(where)}.{key[:40]}: unknown field (value fields: {', '.join(_SHEMS_KEYS)})"
                )
            continue
        if raw is None:
            continue
        if type(raw) is float and math.isfinite(raw):
            values[spec[0]] = raw * spec[1]
        else:
            values[spec[0]] = _number(raw, f"{_where(where)}.{key}") * spec[1]
        found = True
    if not found:
        raise PayloadError(f"{_where(where)}: no value (one of {', '.join(_SHEMS_KEYS)})")
    return Reading(device, time, values[0], values[1], values[2], values[3])


def _timed(value: Any, field: str, device: str) -> datetime:
    try:
        return parse_time(value, field)
    except PayloadError as err:
        err.device = device
        raise


def _where(where: str | int) -> str:
    return f"readings[{where}]" if isinstance(where, int) else where


def parse_shems(payload: bytes, received_at: datetime, device_id: str | None = None) -> ParseResult:
    """Parse a SHEMS JSON payload; ``device_id`` comes from the topic binding when the payload has none."""
    document = _load(payload)
    if not isinstance(document, dict):
        raise PayloadError(f"payload: expected a JSON object, got {type(document).__name__}")
    if "readings" not in document:
        return ParseResult([_shems_reading(document, device_id, received_at, "payload")], [])
    items = document["readings"]
    if not isinstance(items, list):
        raise PayloadError("payload.readings: expected a list")
    default_device = document.get("device", device_id)
    readings: list[Reading] = []
    problems: list[PayloadError] = []
    for index, item in enumerate(items):
        try:
            readings.append(_shems_reading(item, default_device, received_at, index))
        except PayloadError as err:
            problems.append(err)
    return ParseResult(readings, problems)


def _load(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PayloadError(f"payload is not valid JSON: {err}", "invalid_json") from err
    except RecursionError:  # e.g. 100,000 opening brackets
        raise PayloadError("payload is nested too deeply", "invalid_json") from None
    except ValueError as err:  # an integer beyond Python's digit limit for str -> int
        raise PayloadError(f"payload is not usable JSON: {str(err)[:80]}", "invalid_json") from None


def _lookup(document: Mapping[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def parse_mapped(
    payload: bytes,
    mapping: FieldMapping,
    received_at: datetime,
    device_id: str | None = None,
    tz: ZoneInfo | None = None,
) -> ParseResult:
    """Parse firmware JSON with ``mapping``; values absent from this message are simply not set."""
    document = _load(payload)
    if not isinstance(document, dict):
        raise PayloadError(f"payload: expected a JSON object, got {type(document).__name__}")
    if mapping.device_path is not None:
        device_id = _lookup(document, mapping.device_path) or device_id
    if device_id is None:
        raise PayloadError(f"no device id (mapping {mapping.name!r} needs the topic binding's device)")
    device = check_device_id(device_id, "device")
    time = received_at
    if mapping.time_path is not None:
        raw_time = _lookup(document, mapping.time_path)
        if raw_time is not None:
            time = parse_time(raw_time, mapping.time_path, tz, mapping.time_format)
    values: list[float | None] = []
    for spec, quantity in (
        (mapping.power, Quantity.POWER),
        (mapping.energy, Quantity.ENERGY),
        (mapping.voltage, Quantity.VOLTAGE),
        (mapping.current, Quantity.CURRENT),
    ):
        if spec is None:
            values.append(None)
            continue
        raw = _lookup(document, spec.path)
        if raw is None:
            values.append(None)
            continue
        try:
            scale = factor(quantity, spec.unit, f"mapping {mapping.name!r} field {spec.path}")
        except UnitError as err:
            raise PayloadError(str(err)) from err
        values.append(_number(raw, spec.path) * scale)
    if all(v is None for v in values):
        raise PayloadError(f"mapping {mapping.name!r}: none of its fields is in this payload")
    return ParseResult([Reading(device, time, values[0], values[1], values[2], values[3])], [])
