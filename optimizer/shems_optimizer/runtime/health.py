"""Component health: each part reports (ok, detail) through a callable probe.

* ``GET /api/v1/health`` — every component's state; status ``ok`` or ``degraded`` (always 200: it is
  also the integration's "is the add-on there" check);
* ``GET /api/v1/health/live`` — liveness: the process answers (a supervisor restarts it when not);
* ``GET /api/v1/health/ready`` — readiness: 200 when every component is ok, else 503 with one problem
  per failing component, named (store unreachable, broker disconnected, ingester thread dead, Home
  Assistant link down, plan too old, dead-letter rate).

Probes must be cheap and never block: slow checks (pinging the store) run in the watchdog, and the
probe reads their last answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Probe = Callable[[], tuple[bool, str]]


class HealthBoard:
    def __init__(self) -> None:
        self._probes: dict[str, Probe] = {}

    def add(self, name: str, probe: Probe) -> None:
        self._probes[name] = probe

    def components(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, probe in self._probes.items():
            try:
                ok, detail = probe()
            except Exception as err:  # a probe must never break the health endpoint
                ok, detail = False, f"probe failed: {type(err).__name__}: {err}"
            out[name] = {"ok": ok, "detail": detail}
        return out

    def problems(self, components: dict[str, dict[str, Any]] | None = None) -> list[dict[str, str]]:
        """One entry per failing component: ``{"component": name, "detail": what is wrong}``."""
        components = self.components() if components is None else components
        return [
            {"component": name, "detail": str(c.get("detail", ""))}
            for name, c in components.items()
            if not c.get("ok", False)
        ]
