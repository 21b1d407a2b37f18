"""Component health for ``GET /api/v1/health``: each part reports ok/detail through a callable."""

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
