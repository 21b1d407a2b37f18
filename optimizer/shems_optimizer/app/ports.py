"""What the API needs from the application, as narrow interfaces (the application implements them).

Handlers only translate HTTP to these calls and back; the service wires the real implementations
(store, optimizer, dispatch). Every method returns JSON-ready values. A component that is not
configured is ``None`` in :class:`ApiContext` and its endpoints answer 503 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class SitePort(Protocol):
    def get(self) -> dict[str, Any] | None: ...

    def put(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and store; raise :class:`InputRejected` naming the field at fault."""
        ...


class PlanPort(Protocol):
    def current_plan(self) -> dict[str, Any] | None:
        """The plan in force (the last successful run), or ``None`` before the first one."""
        ...

    def current_plan_json(self) -> str | None:
        """The plan in force already encoded as JSON (served without re-encoding), or ``None``."""
        ...

    def status(self) -> dict[str, Any]:
        """Optimizer state, last/next run, last error, costs and savings (the status document)."""
        ...

    async def optimize_now(self, reason: str) -> dict[str, Any]:
        """Re-plan now and return the new plan; raise :class:`SiteMissing` or
        :class:`OptimizationFailed` (the last good plan stays and the status says why)."""
        ...


class DevicePort(Protocol):
    async def list_devices(self) -> list[dict[str, Any]]: ...

    async def get_device(self, device_id: str) -> dict[str, Any] | None: ...

    async def register_device(self, device: Mapping[str, Any]) -> dict[str, Any]: ...

    async def delete_device(self, device_id: str) -> bool: ...

    def latest_status(self, device_id: str) -> dict[str, Any] | None:
        """The latest state received from the device, from memory (no database round trip)."""
        ...


class CommandPort(Protocol):
    async def submit(
        self, device_id: str, command_type: str, payload: Mapping[str, Any], ttl_s: float | None
    ) -> dict[str, Any]: ...

    async def get_command(self, command_id: str) -> dict[str, Any] | None: ...

    async def list_commands(self, device_id: str, limit: int) -> list[dict[str, Any]]: ...


class AnalyticsPort(Protocol):
    async def consumption(
        self, start: datetime, end: datetime, device_id: str | None, granularity: str
    ) -> dict[str, Any]: ...

    async def usage(self) -> dict[str, Any]:
        """Real-time usage: latest power per device and the home total."""
        ...


class PredictionPort(Protocol):
    async def predictions(
        self, kind: str, start: datetime, steps: int, granularity: str
    ) -> dict[str, Any]: ...

    async def recommendations(self) -> dict[str, Any]: ...


class SchedulePort(Protocol):
    async def list_schedules(self) -> list[dict[str, Any]]: ...

    async def create_schedule(self, schedule: Mapping[str, Any]) -> dict[str, Any]: ...

    async def delete_schedule(self, schedule_id: str) -> bool: ...


class ExecutionPort(Protocol):
    def recent(self, limit: int) -> Sequence[dict[str, Any]]:
        """The executor's latest journal entries, oldest first."""
        ...


class HealthPort(Protocol):
    def components(self) -> dict[str, dict[str, Any]]:
        """Per component (store, mqtt, optimizer…): ``{"ok": bool, "detail": str}``."""
        ...


class MetricsPort(Protocol):
    def render(self) -> bytes:
        """The service's metrics in the Prometheus text exposition format."""
        ...


@dataclass(frozen=True)
class ServiceInfo:
    version: str
    instance_id: str  # stable across restarts: the integration's unique id for this add-on
    started_at: datetime
