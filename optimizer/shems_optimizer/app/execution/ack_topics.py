"""The topics command acks arrive on, kept current as devices are registered and changed.

Every device's default ack topic (``<prefix>/devices/<id>/ack``) is covered by one wildcard
subscription; a device registered with an ack topic of its own gets a subscription of its own. The
acks themselves are matched to their commands, checked against the command's device topic and
recorded by ``CommandDispatcher.ack_handler`` (:mod:`shems_optimizer.app.execution.commands`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from shems_optimizer.app.records.models import Device

from .routes import CommandRoute, MqttRoute, default_mqtt_route

AckHandler = Callable[[str, bytes], None]


class Subscriptions(Protocol):
    """The MQTT link as the ack topics use it (:class:`~shems_optimizer.adapters.mqtt.mqtt_link.MqttLink`)."""

    def subscribe(self, topic_filter: str, handler: AckHandler) -> None: ...


class DeviceRoutes(Protocol):
    """The device registry as the ack topics use it
    (:class:`~shems_optimizer.app.devices.devices.DeviceRegistry`)."""

    def devices(self) -> list[Device]: ...

    def route_now(self, device_id: str) -> CommandRoute | None: ...

    def on_change(self, listener: Callable[[Device | None], None]) -> None: ...


def follow_ack_topics(link: Subscriptions, devices: DeviceRoutes, prefix: str, handler: AckHandler) -> None:
    """Subscribe ``handler`` to every ack topic now, and to each new one a device change brings."""
    link.subscribe(f"{prefix}/devices/+/ack", handler)

    def watch(device: Device | None) -> None:
        if device is None:
            return
        route = devices.route_now(device.id)
        if not isinstance(route, MqttRoute):
            return
        if route.ack_topic != default_mqtt_route(prefix, device.id).ack_topic:
            link.subscribe(route.ack_topic, handler)

    for device in devices.devices():
        watch(device)
    devices.on_change(watch)
