"""The soak's load: meters publishing telemetry, and a device that acknowledges its commands."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

PREFIX = "soak"


class Meters:
    """One paho client publishing every meter's readings at QoS 1; counts what was sent and what the
    broker acked, per meter and per reading time (to count what fell inside a fault's window)."""

    def __init__(self, host: str, port: int, devices: list[str], per_device_hz: float) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._devices = devices
        self._period = 1.0 / (per_device_hz * len(devices))
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="soak-meters", protocol=mqtt.MQTTv5)
        self._client.max_inflight_messages_set(1000)
        # What each publish became (meter, reading time in Unix µs, paho's message info); counted at the
        # end. (No on_publish callback: paho calls it holding its own lock, and a lock of ours around
        # publish() beside it deadlocked the meters.)
        self._published: list[tuple[str, int, Any]] = []
        self.sent = 0
        self._stop = threading.Event()
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="soak-meters", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def sent_by_device(self) -> dict[str, int]:
        counts = dict.fromkeys(self._devices, 0)
        for device, _us, _info in self._published:
            counts[device] += 1
        return counts

    @property
    def acked(self) -> dict[str, int]:
        """Readings per meter whose PUBACK came back from the broker."""
        counts = dict.fromkeys(self._devices, 0)
        for device, _us, info in self._published:
            counts[device] += info.is_published()
        return counts

    def sent_between(self, start: float, end: float) -> dict[str, int]:
        """Readings per meter whose time is in [start, end) (Unix seconds)."""
        lo, hi = int(start * 1e6), int(end * 1e6)
        counts = dict.fromkeys(self._devices, 0)
        for device, us, _info in self._published:
            counts[device] += lo <= us < hi
        return counts

    def _run(self) -> None:
        counters = dict.fromkeys(self._devices, 0.0)
        last_us = dict.fromkeys(self._devices, 0)
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            device = self._devices[n % len(self._devices)]
            n += 1
            if not self._client.is_connected():  # the broker is down: the meter holds its reading
                self._stop.wait(0.2)
                continue
            now_us = max(int(time.time() * 1e3) * 1000, last_us[device] + 1000)  # whole ms, as sent
            last_us[device] = now_us
            counters[device] += 0.001
            at = datetime.fromtimestamp(now_us / 1e6, tz=UTC).isoformat(timespec="milliseconds")
            payload = json.dumps({"time": at, "power_w": 100.0 + n % 900, "energy_kwh": counters[device]})
            info = self._client.publish(f"{PREFIX}/meters/{device}/state", payload, qos=1)
            self._published.append((device, now_us, info))
            self.sent += 1
            next_at += self._period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        deadline = time.monotonic() + 30
        while not all(info.is_published() for *_, info in self._published) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._client.disconnect()
        self._client.loop_stop()


def acking_device(host: str, port: int, device_id: str) -> Any:
    """A paho client that acknowledges every command sent to ``device_id``."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"soak-{device_id}", protocol=mqtt.MQTTv5)

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        command = json.loads(msg.payload)
        client.publish(
            f"{PREFIX}/devices/{device_id}/ack",
            json.dumps({"command_id": command["command_id"], "status": "ok"}),
            qos=1,
        )

    def on_connect(*_a: Any) -> None:  # also after the broker's restart
        client.subscribe(f"{PREFIX}/devices/{device_id}/command", qos=1)

    client.on_message = on_message
    client.on_connect = on_connect
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client
