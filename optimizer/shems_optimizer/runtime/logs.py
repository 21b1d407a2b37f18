"""Structured JSON log lines with a correlation id that follows one request everywhere.

A correlation id is set when a request enters the API (from ``X-Correlation-ID`` or freshly made) or
when the MPC loop starts a run; it lives in a context variable, so every log line written while that
request is handled - in the API, in the store, in the MQTT command sender - carries it without being
passed around by hand. Command rows and MQTT payloads copy it explicitly.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "shems_correlation_id", default=None
)

# Attributes every LogRecord has; anything else passed through ``extra=`` is emitted as a field.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

# Field names whose values are never written, whatever a caller passes in ``extra=``.
SECRET_FIELDS = frozenset({"token", "password", "authorization", "dsn", "secret", "supervisor_token"})


_ids = random.Random(os.urandom(32))  # seeded once; a correlation id needs uniqueness, not secrecy
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))  # a child must not repeat ours


def new_correlation_id() -> str:
    """128 random bits as 32 hex digits, without a system call per request."""
    return f"{_ids.getrandbits(128):032x}"


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> contextvars.Token[str | None]:
    return _correlation_id.set(value)


def reset_correlation_id(token: contextvars.Token[str | None]) -> None:
    _correlation_id.reset(token)


@contextmanager
def correlation(value: str | None = None) -> Iterator[str]:
    """Run a block under a correlation id (a new one unless given)."""
    cid = value or new_correlation_id()
    token = _correlation_id.set(cid)
    try:
        yield cid
    finally:
        _correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None) or _correlation_id.get()
        if cid:
            line["correlation_id"] = cid
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key == "correlation_id" or key.startswith("_"):
                continue
            line[key] = "***" if key.lower() in SECRET_FIELDS else value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Send every ``shems_optimizer`` (and aiohttp) log line to ``stream`` as JSON."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The access log duplicates our own request log line; keep it quiet unless debugging.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
