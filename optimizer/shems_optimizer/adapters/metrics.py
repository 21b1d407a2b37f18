"""Prometheus metrics for ``GET /api/v1/metrics`` (text exposition format, prometheus_client).

Each service has its own registry (tests run several services in one process). Most figures are read
from the parts at scrape time by :class:`ServiceCollector` — nothing to keep in sync, nothing counted
twice; only what exists as an event (plan durations, command status changes) is counted as it happens:

* telemetry: ``shems_telemetry_messages_total``, ``shems_readings_received_total``,
  ``shems_readings_stored_total``, ``shems_readings_spooled_total``,
  ``shems_readings_refused_total{device,reason}``, ``shems_dead_letters_suppressed_total``,
  queue depth and spool segments per source;
* planning: ``shems_plan_duration_seconds`` (histogram), ``shems_plans_total{status}``,
  ``shems_plan_last_run_failed``, ``shems_plan_age_seconds``;
* commands: ``shems_command_status_changes_total{status}`` (pending, sent, acked, failed, expired);
* ``shems_stream_subscribers``, ``shems_component_ready{component}``,
  ``shems_watchdog_restarts_total{component}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shems_optimizer.adapters.ingest.pipeline import TelemetryPipeline
from shems_optimizer.runtime.events import EventSink

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PLAN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class ServiceMetrics:
    """The registry, the event-driven metrics, and the hooks the collector reads at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.plan_duration = Histogram(
            "shems_plan_duration_seconds",
            "Wall time of successful planning runs",
            buckets=PLAN_BUCKETS,
            registry=self.registry,
        )
        self.plans = Counter("shems_plans", "Plans made, by plan status", ["status"], registry=self.registry)
        self.command_status = Counter(
            "shems_command_status_changes",
            "Device command status changes (pending, sent, acked, failed, expired)",
            ["status"],
            registry=self.registry,
        )
        self.collector = ServiceCollector()
        self.registry.register(self.collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class StreamFigures(Protocol):
    """What the metrics read of the API's stream hub."""

    @property
    def subscriber_count(self) -> int: ...

    @property
    def dropped_slow(self) -> int: ...


class MeteredEvents:
    """Events on their way to ``sink`` (the stream hub), counted where metrics care (plans, commands)."""

    def __init__(self, sink: EventSink, metrics: ServiceMetrics) -> None:
        self._sink = sink
        self._metrics = metrics

    def publish(self, event_type: str, data: Any) -> None:
        if isinstance(data, Mapping):
            if event_type == "command_status":
                self._metrics.command_status.labels(str(data.get("status", "unknown"))).inc()
            elif event_type == "plan_updated":
                self._metrics.plans.labels(str(data.get("status", "unknown"))).inc()
        self._sink.publish(event_type, data)


class ServiceCollector(Collector):
    """Reads the service's parts when Prometheus scrapes; parts not running are simply absent."""

    def __init__(self) -> None:
        self.pipelines: dict[str, Callable[[], TelemetryPipeline | None]] = {}
        self.hub: StreamFigures | None = None
        self.plan_status: Callable[[], Mapping[str, Any]] | None = None
        self.readiness: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None
        self.restarts: Callable[[], Mapping[str, int]] | None = None

    def collect(self) -> Iterator[Metric]:
        yield from self._telemetry()
        if self.hub is not None:
            yield GaugeMetricFamily(
                "shems_stream_subscribers", "Open stream subscribers", self.hub.subscriber_count
            )
        if self.plan_status is not None:
            yield from self._planning(self.plan_status())
        if self.readiness is not None:
            ready = GaugeMetricFamily(
                "shems_component_ready", "1 when the component is healthy", labels=["component"]
            )
            for name, component in self.readiness().items():
                ready.add_metric([name], 1.0 if component.get("ok") else 0.0)
            yield ready
        if self.restarts is not None:
            restarts = CounterMetricFamily(
                "shems_watchdog_restarts", "Parts the watchdog restarted", labels=["component"]
            )
            for name, count in self.restarts().items():
                restarts.add_metric([name], count)
            yield restarts

    def _telemetry(self) -> Iterator[Metric]:
        families = {
            name: CounterMetricFamily(f"shems_{name}", help_text, labels=["source"])
            for name, help_text in (
                ("telemetry_messages", "Telemetry messages received"),
                ("readings_received", "Readings received (parsed or refused)"),
                ("readings_stored", "Readings written to the store (directly or replayed from the spool)"),
                ("readings_spooled", "Readings written to the disk spool while the store was down"),
                ("readings_skipped", "Duplicate or out-of-order readings skipped"),
                ("dead_letters_suppressed", "Refusals not published as dead letters (rate limit)"),
            )
        }
        refused = CounterMetricFamily(
            "shems_readings_refused",
            "Messages and readings refused, by device and reason",
            labels=["source", "device", "reason"],
        )
        queue = GaugeMetricFamily(
            "shems_telemetry_queue_depth", "Messages waiting for the writer", labels=["source"]
        )
        spool = GaugeMetricFamily(
            "shems_telemetry_spool_segments", "Spooled batches waiting for replay", labels=["source"]
        )
        for source, get in self.pipelines.items():
            pipeline = get()
            if pipeline is None:
                continue
            counts = pipeline.counts()
            families["telemetry_messages"].add_metric([source], counts.messages)
            families["readings_received"].add_metric([source], counts.readings_received)
            families["readings_stored"].add_metric([source], counts.readings_stored)
            families["readings_spooled"].add_metric([source], counts.readings_spooled)
            families["readings_skipped"].add_metric([source], counts.duplicates + counts.out_of_order)
            families["dead_letters_suppressed"].add_metric([source], pipeline.refusals.suppressed)
            for (device, reason), count in sorted(pipeline.refusals.counts().items()):
                refused.add_metric([source, device, reason], count)
            queue.add_metric([source], pipeline.queue_depth())
            spool.add_metric([source], pipeline.spooled_segments)
        yield from families.values()
        yield from (refused, queue, spool)

    @staticmethod
    def _planning(status: Mapping[str, Any]) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "shems_plan_last_run_failed",
            "1 when the last planning run failed",
            1.0 if status.get("last_error") else 0.0,
        )
        duration = status.get("last_duration_s")
        if isinstance(duration, int | float):
            yield GaugeMetricFamily(
                "shems_plan_last_duration_seconds", "Wall time of the last planning run", duration
            )
        success = status.get("last_success")
        if isinstance(success, datetime):
            age = (datetime.now(UTC) - success).total_seconds()
            yield GaugeMetricFamily("shems_plan_age_seconds", "Seconds since the plan in force was made", age)
