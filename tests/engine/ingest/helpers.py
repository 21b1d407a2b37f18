"""Helpers for ingestion tests: start the real pipeline + MQTT ingester, wait for conditions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shems_optimizer.adapters.ingest.mappings import TopicBinding
from shems_optimizer.adapters.ingest.mqtt import MqttConnection, MqttIngester
from shems_optimizer.adapters.ingest.pipeline import PipelineConfig, TelemetryPipeline
from shems_optimizer.app.records.models import Device, DeviceType, Home
from shems_optimizer.app.records.repository import Repository


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def register(repo: Repository, *device_ids: str) -> None:
    repo.upsert_home(Home("home", "Home", "Europe/Paris"))
    for device_id in device_ids:
        repo.upsert_device(Device(device_id, "home", DeviceType.LOAD, device_id))


@dataclass
class Running:
    pipeline: TelemetryPipeline
    ingester: MqttIngester
    prefix: str


@contextmanager
def running_ingest(
    repo: Repository,
    broker: Any,
    spool_dir: Path,
    bindings: Callable[[str], Sequence[TopicBinding]],
    prefix: str | None = None,
    dead_letters: bool = False,
    **pipeline_options: Any,
) -> Iterator[Running]:
    """Pipeline + ingester on a unique topic prefix (or ``prefix``: the same client id and persistent
    session again); ``bindings(prefix)`` builds the subscriptions; ``dead_letters`` publishes refusals
    on ``<prefix>/dead_letter``."""
    prefix = prefix or f"t{uuid.uuid4().hex[:8]}"
    options = {"flush_interval_s": 0.05, "retry_interval_s": 0.2, **pipeline_options}
    pipeline = TelemetryPipeline(repo, PipelineConfig(spool_dir=spool_dir, **options))
    pipeline.start()
    ingester = MqttIngester(
        MqttConnection(broker.host, broker.port, client_id=f"shems-{prefix}"),
        bindings(prefix),
        pipeline,
        dead_letter_topic=f"{prefix}/dead_letter" if dead_letters else None,
    )
    ingester.start()
    try:
        assert ingester.connected.wait(10), "ingester did not connect"
        time.sleep(0.2)  # let the SUBSCRIBE reach the broker before tests publish
        yield Running(pipeline, ingester, prefix)
    finally:
        ingester.stop()
        pipeline.stop()
