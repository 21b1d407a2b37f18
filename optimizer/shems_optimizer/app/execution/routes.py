"""Where a device's commands go: an MQTT command/ack topic pair, or a Home Assistant entity."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MqttRoute:
    command_topic: str
    ack_topic: str


@dataclass(frozen=True)
class HomeAssistantRoute:
    entity_id: str

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]


CommandRoute = MqttRoute | HomeAssistantRoute


def default_mqtt_route(prefix: str, device_id: str) -> MqttRoute:
    return MqttRoute(f"{prefix}/devices/{device_id}/command", f"{prefix}/devices/{device_id}/ack")


class HaCallRefused(Exception):
    """Home Assistant refused the call (unknown service, bad data): retrying will not help."""
