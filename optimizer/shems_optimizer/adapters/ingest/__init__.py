"""Telemetry ingestion: MQTT devices and Home Assistant entities into the store.

* :mod:`~shems_optimizer.adapters.ingest.payload` — the SHEMS JSON payload and firmware field mappings.
* :mod:`~shems_optimizer.adapters.ingest.mappings` — built-in mappings (Shelly Gen2, Tasmota, Zigbee2MQTT),
  topic bindings, custom mappings from configuration.
* :mod:`~shems_optimizer.adapters.ingest.units` — W/kW, Wh/kWh... conversion with clear errors.
* :mod:`~shems_optimizer.adapters.ingest.pipeline` — bounded queue, batching, duplicate/out-of-order
  filtering, disk spool and replay, acknowledgements after durable storage.
* :mod:`~shems_optimizer.adapters.ingest.mqtt` — the MQTT ingester (paho-mqtt, QoS 1, persistent session).
* :mod:`~shems_optimizer.adapters.ingest.homeassistant` — the Home Assistant WebSocket ingester with
  statistics backfill.

Typical wiring (the add-on service does this)::

    pipeline = TelemetryPipeline(repo, PipelineConfig(spool_dir=Path("/data/spool")))
    pipeline.start()
    mqtt = MqttIngester(MqttConnection("core-mosquitto", 1883, "user", "pw"),
                        bindings_for_devices(repo.list_devices()), pipeline)
    mqtt.start()
    client = HomeAssistantClient(HomeAssistantConfig("http://supervisor/core", token))
    ha = HomeAssistantIngester(client, [EntityBinding("sensor.heat_pump_power", "heat_pump")], pipeline)
    task = asyncio.create_task(ha.run())
    ...
    mqtt.stop(); task.cancel(); pipeline.stop()

docs/telemetry.md documents payloads, mappings and configuration.
"""

from shems_optimizer.adapters.homeassistant.client import HomeAssistantAuthError
from shems_optimizer.adapters.ingest.homeassistant import EntityBinding, HomeAssistantIngester
from shems_optimizer.adapters.ingest.mappings import BUILTIN_MAPPINGS, TopicBinding, mapping_from_options
from shems_optimizer.adapters.ingest.mqtt import MqttConnection, MqttIngester, bindings_for_devices
from shems_optimizer.adapters.ingest.payload import (
    FieldMapping,
    FieldSpec,
    PayloadError,
    parse_mapped,
    parse_shems,
)
from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline
from shems_optimizer.adapters.ingest.stats import IngestCounts
from shems_optimizer.adapters.ingest.units import Quantity, UnitError

__all__ = [
    "BUILTIN_MAPPINGS",
    "EntityBinding",
    "FieldMapping",
    "FieldSpec",
    "HomeAssistantAuthError",
    "HomeAssistantIngester",
    "IngestCounts",
    "MqttConnection",
    "MqttIngester",
    "PayloadError",
    "PipelineConfig",
    "Quantity",
    "TelemetryPipeline",
    "TopicBinding",
    "UnitError",
    "bindings_for_devices",
    "mapping_from_options",
    "parse_mapped",
    "parse_shems",
]
