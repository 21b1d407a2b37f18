"""Structured JSON log lines with a correlation id that follows one request everywhere.

A correlation id is set when a request enters the API (from ``X-Correlation-ID`` or freshly made) or
when the MPC loop starts a run; it lives in a context variable, so every log line written while that
request is handled - in the API, in the store, in the MQTT command sender - carries it without being
passed around by hand. Command rows and MQTT payloads copy it explicitly.
"""

from __future__ import annotations

import contextvars
import logging
import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

import pythonjsonlogger.core
import pythonjsonlogger.json

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "shems_correlation_id", default=None
)

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


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object per line: time, level, logger, message, correlation id, the fields passed in
    ``extra=`` (secrets masked) and the exception, if any (python-json-logger does the rest)."""

    def __init__(self) -> None:
        super().__init__(
            "%(name)s %(message)s",
            rename_fields={"name": "logger", "exc_info": "exception"},
            reserved_attrs=[*pythonjsonlogger.core.RESERVED_ATTRS, "correlation_id"],
            json_default=str,
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_record["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
        log_record["level"] = record.levelname.lower()
        log_record["logger"], log_record["message"] = record.name, record.message  # this order
        cid = getattr(record, "correlation_id", None) or _correlation_id.get()
        if cid:
            log_record["correlation_id"] = cid
        super().add_fields(log_record, record, message_dict)
        exception = log_record.pop("exception", None)
        for key in [k for k in log_record if k.lower() in SECRET_FIELDS]:
            log_record[key] = "***"
        if exception is not None:
            log_record["exception"] = exception  # last, as the longest field


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
