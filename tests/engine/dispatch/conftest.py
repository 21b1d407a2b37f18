"""A simulated MQTT device on the real broker: receives commands, answers acks as told."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class SimulatedDevice:
    """Subscribes to its command topic; ``behaviour`` decides the answer: ok, error, never, or
    ``ok_on_attempt:N`` (stay silent until the N-th attempt)."""

    client: Any
    command_topic: str
    ack_topic: str
    behaviour: str = "ok"
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        command = json.loads(msg.payload)
        with self.lock:
            self.received.append(command)
        answer: dict[str, Any] | None = {"command_id": command["command_id"], "status": "ok"}
        if self.behaviour == "never":
            answer = None
        elif self.behaviour == "error":
            answer = {"command_id": command["command_id"], "status": "error", "message": "relay stuck"}
        elif self.behaviour.startswith("ok_on_attempt:") and command["attempt"] < int(
            self.behaviour.split(":")[1]
        ):
            answer = None
        if answer is not None:
            self.client.publish(self.ack_topic, json.dumps(answer), qos=1)

    def command_ids(self) -> list[str]:
        with self.lock:
            return [c["command_id"] for c in self.received]


@pytest.fixture
def device_factory(mqtt_client_factory: Callable[..., Any]) -> Callable[..., SimulatedDevice]:
    def make(device_id: str, behaviour: str = "ok", prefix: str = "shems") -> SimulatedDevice:
        client = mqtt_client_factory(client_id=f"sim-{device_id}", clean_start=True)
        device = SimulatedDevice(
            client, f"{prefix}/devices/{device_id}/command", f"{prefix}/devices/{device_id}/ack", behaviour
        )
        client.on_message = device.on_message
        subscribed = threading.Event()
        client.on_subscribe = lambda *_args: subscribed.set()
        client.subscribe(device.command_topic, qos=1)
        assert subscribed.wait(10), "the simulated device could not subscribe"
        return device

    return make
