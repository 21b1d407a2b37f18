"""The site document, validated and kept in ``data_dir/site.json``; listeners hear of every change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shems_optimizer.runtime.files import read_json, write_json_atomic

from .site_document import validate_site_document

_LOGGER = logging.getLogger(__name__)

SiteCheck = Callable[[Mapping[str, Any]], None]


class SiteStore:
    """Implements the API's site port. ``extra_check`` (the optimizer's site model) runs after the
    document's own validation and raises :class:`~shems_optimizer.app.ports.InputRejected`."""

    def __init__(self, data_dir: Path, extra_check: SiteCheck | None = None) -> None:
        self._path = data_dir / "site.json"
        self._extra_check = extra_check
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        stored = read_json(self._path)
        self._document: dict[str, Any] | None = stored if isinstance(stored, dict) else None

    def on_change(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def get(self) -> dict[str, Any] | None:
        return self._document

    def put(self, document: Mapping[str, Any]) -> dict[str, Any]:
        site = validate_site_document(document)
        if self._extra_check is not None:
            self._extra_check(site)
        site["updated_at"] = datetime.now(tz=UTC).isoformat()
        with self._lock:
            write_json_atomic(self._path, site)
            self._document = site
        _LOGGER.info(
            "site configuration stored",
            extra={
                "batteries": len(site["batteries"]),
                "evs": len(site["evs"]),
                "appliances": len(site["appliances"]),
                "thermal_loads": len(site["thermal_loads"]),
            },
        )
        for listener in self._listeners:
            listener(site)
        return site
