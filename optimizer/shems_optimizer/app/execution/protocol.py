"""The command protocol between SHEMS and a device, as JSON documents (carried over MQTT).

Command (SHEMS → device, QoS 1, on the device's command topic)::

    {"command_id": "…", "correlation_id": "…", "command": "set_power", "payload": {"power_w": 3000},
     "attempt": 1, "issued_at": "2026-…+00:00", "expires_at": "2026-…+00:00"}

Acknowledgement (device → SHEMS, QoS 1, on the device's ack topic)::

    {"command_id": "…", "status": "ok"}                       # done
    {"command_id": "…", "status": "error", "message": "…"}    # refused or failed

A device may receive the same ``command_id`` more than once (a retry crossed a late ack); it must
carry it out once and acknowledge every copy. Commands past ``expires_at`` must be ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shems_optimizer.runtime.jsonio import dumps, parse_json


def command_message(
    command_id: str,
    correlation_id: str | None,
    command: str,
    payload: dict[str, Any],
    attempt: int,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    return dumps(
        {
            "command_id": command_id,
            "correlation_id": correlation_id,
            "command": command,
            "payload": payload,
            "attempt": attempt,
            "issued_at": issued_at,
            "expires_at": expires_at,
        }
    )


@dataclass(frozen=True)
class Ack:
    command_id: str
    ok: bool
    message: str | None


class AckError(ValueError):
    """An acknowledgement that cannot be understood; the message says what is wrong with it."""


def parse_ack(raw: bytes) -> Ack:
    try:
        doc = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise AckError(f"ack is not JSON: {err}") from err
    if not isinstance(doc, dict):
        raise AckError("ack must be a JSON object")
    command_id = doc.get("command_id")
    if not isinstance(command_id, str) or not command_id:
        raise AckError("ack lacks a command_id")
    status = doc.get("status", "ok")
    if status not in ("ok", "error"):
        raise AckError(f"ack status must be 'ok' or 'error', got {status!r}")
    message = doc.get("message")
    return Ack(command_id, status == "ok", str(message) if message is not None else None)
