"""Events the service announces (plans, device updates, command status) and the sink they go to.

The application publishes; the API's WebSocket hub (:mod:`shems_optimizer.api.stream`) delivers
them to subscribers and the metrics (:mod:`shems_optimizer.adapters.metrics`) count some on the
way. Types only: this module knows no transport.
"""

from __future__ import annotations

from typing import Any, Protocol

EVENT_TYPES = ("hello", "device_update", "plan_updated", "command_status", "status")


class EventSink(Protocol):
    def publish(self, event_type: str, data: Any) -> None:
        """Queue an event for every subscriber; thread-safe, never blocks."""
