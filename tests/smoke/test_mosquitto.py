"""The real Mosquitto broker works: a QoS 1 publish/subscribe round trip with paho-mqtt."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Callable
from typing import Any


def test_qos1_round_trip(mqtt_client_factory: Callable[..., Any]) -> None:
    topic = f"shems/test/{uuid.uuid4().hex}"
    received: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
    subscribed: queue.Queue[int] = queue.Queue()

    subscriber = mqtt_client_factory()
    subscriber.on_message = lambda _c, _u, msg: received.put((msg.topic, msg.payload, msg.qos))
    subscriber.on_subscribe = lambda _c, _u, mid, _codes, _props: subscribed.put(mid)
    _, mid = subscriber.subscribe(topic, qos=1)
    assert subscribed.get(timeout=10) == mid

    publisher = mqtt_client_factory()
    payloads = [{"device": "meter-1", "power_w": 100 + i} for i in range(20)]
    infos = [publisher.publish(topic, json.dumps(p), qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    got = [received.get(timeout=10) for _ in payloads]
    assert [t for t, _, _ in got] == [topic] * len(payloads)
    assert [json.loads(p) for _, p, _ in got] == payloads
    assert {q for _, _, q in got} == {1}
