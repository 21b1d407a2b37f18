"""Built-in field mappings for common device firmwares, and topic bindings.

A :class:`TopicBinding` says which MQTT topic filter carries which payload format and, when the payload
does not name its device, which device it belongs to (fixed, or one level of the topic).

Built-in payload formats (values as the firmware documents them):

* ``shems`` — the SHEMS JSON payload (:mod:`shems_optimizer.adapters.ingest.payload`).
* ``shelly_gen2`` — Shelly Gen2+/Plus/Pro ``<prefix>/status/switch:0`` or ``pm1:0``: ``apower`` W,
  ``aenergy.total`` Wh, ``voltage`` V, ``current`` A. Timed on receipt (``minute_ts`` is a minute
  marker, not a measurement time).
* ``tasmota`` — ``tele/<topic>/SENSOR``: ``ENERGY.Power`` W, ``ENERGY.Total`` kWh, ``ENERGY.Voltage`` V,
  ``ENERGY.Current`` A, ``Time`` in the device's local time (set the binding's ``timezone``).
* ``zigbee2mqtt`` — ``zigbee2mqtt/<friendly name>``: ``power`` W, ``energy`` kWh, ``voltage`` V,
  ``current`` A. Timed on receipt.

Custom mappings come from configuration (:func:`mapping_from_options`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shems_optimizer.adapters.ingest.payload import FieldMapping, FieldSpec, PayloadError, TimeFormat
from shems_optimizer.adapters.ingest.units import Quantity, UnitError, factor

SHEMS_FORMAT = "shems"

BUILTIN_MAPPINGS: dict[str, FieldMapping] = {
    "shelly_gen2": FieldMapping(
        name="shelly_gen2",
        power=FieldSpec("apower", "W"),
        energy=FieldSpec("aenergy.total", "Wh"),
        voltage=FieldSpec("voltage", "V"),
        current=FieldSpec("current", "A"),
    ),
    "tasmota": FieldMapping(
        name="tasmota",
        power=FieldSpec("ENERGY.Power", "W"),
        energy=FieldSpec("ENERGY.Total", "kWh"),
        voltage=FieldSpec("ENERGY.Voltage", "V"),
        current=FieldSpec("ENERGY.Current", "A"),
        time_path="Time",
        time_format=TimeFormat.ISO,
    ),
    "zigbee2mqtt": FieldMapping(
        name="zigbee2mqtt",
        power=FieldSpec("power", "W"),
        energy=FieldSpec("energy", "kWh"),
        voltage=FieldSpec("voltage", "V"),
        current=FieldSpec("current", "A"),
    ),
}


@dataclass(frozen=True)
class TopicBinding:
    """An MQTT subscription and how to read it.

    ``payload_format`` is ``"shems"``, a built-in mapping name, or the name of a custom mapping passed
    to the ingester. The device is the payload's own (SHEMS ``device`` / mapping ``device_path``), else
    ``device_id``, else topic level ``device_topic_level`` (0-based: ``zigbee2mqtt/+`` -> level 1).
    ``timezone`` is used for firmware times without a UTC offset (Tasmota).
    """

    topic: str
    payload_format: str = SHEMS_FORMAT
    device_id: str | None = None
    device_topic_level: int | None = None
    timezone: str = "UTC"

    def device_for(self, topic: str) -> str | None:
        if self.device_id is not None:
            return self.device_id
        if self.device_topic_level is not None:
            levels = topic.split("/")
            if self.device_topic_level < len(levels):
                return levels[self.device_topic_level]
        return None


_QUANTITY_KEYS = {
    "power": Quantity.POWER,
    "energy": Quantity.ENERGY,
    "voltage": Quantity.VOLTAGE,
    "current": Quantity.CURRENT,
}


def mapping_from_options(name: str, options: Mapping[str, Any]) -> FieldMapping:
    """A custom mapping from configuration, e.g.::

        {"power": {"path": "meter.p", "unit": "kW"}, "energy": {"path": "meter.e", "unit": "Wh"},
         "time": {"path": "ts", "format": "epoch_ms"}, "device": "id"}

    Units are checked now, so a typo fails at start-up with the field named, not at the first message.
    """
    specs: dict[str, FieldSpec | None] = {}
    for key, quantity in _QUANTITY_KEYS.items():
        raw = options.get(key)
        if raw is None:
            specs[key] = None
            continue
        if (
            not isinstance(raw, Mapping)
            or not isinstance(raw.get("path"), str)
            or not isinstance(raw.get("unit"), str)
        ):
            raise PayloadError(f"mapping {name!r}: {key} needs {{'path': str, 'unit': str}}, got {raw!r}")
        try:
            factor(quantity, raw["unit"], f"mapping {name!r} {key}")
        except UnitError as err:
            raise PayloadError(str(err)) from err
        specs[key] = FieldSpec(raw["path"], raw["unit"])
    unknown = set(options) - {*_QUANTITY_KEYS, "time", "device"}
    if unknown:
        raise PayloadError(f"mapping {name!r}: unknown keys {sorted(unknown)}")
    if all(spec is None for spec in specs.values()):
        raise PayloadError(f"mapping {name!r}: needs at least one of power, energy, voltage, current")
    time = options.get("time")
    time_path, time_format = None, TimeFormat.ISO
    if time is not None:
        if not isinstance(time, Mapping) or not isinstance(time.get("path"), str):
            raise PayloadError(
                f"mapping {name!r}: time needs {{'path': str, 'format': iso|epoch_s|epoch_ms}}"
            )
        time_path = time["path"]
        time_format = time.get("format", TimeFormat.ISO)
        if time_format not in (TimeFormat.ISO, TimeFormat.EPOCH_S, TimeFormat.EPOCH_MS):
            raise PayloadError(
                f"mapping {name!r}: time format {time_format!r} is not iso, epoch_s or epoch_ms"
            )
    device = options.get("device")
    if device is not None and not isinstance(device, str):
        raise PayloadError(f"mapping {name!r}: device must be a dotted path string")
    return FieldMapping(
        name=name,
        power=specs["power"],
        energy=specs["energy"],
        voltage=specs["voltage"],
        current=specs["current"],
        time_path=time_path,
        time_format=time_format,
        device_path=device,
    )
