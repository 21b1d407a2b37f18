"""Configuration inside the Home Assistant add-on: ``/data/options.json`` plus the Supervisor.

The Supervisor is reached at ``SUPERVISOR_URL`` (default ``http://supervisor``) with the
``SUPERVISOR_TOKEN`` it gives every add-on. With ``mqtt: supervisor`` the broker comes from the
Supervisor's MQTT service (``GET /services/mqtt``); Home Assistant's API is the Supervisor's proxy
(``/core/api``). Any invalid option raises :class:`AddonConfigError` with one line naming it, so the
add-on stops with a clear log line instead of crash-looping.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import voluptuous as vol

from shems_optimizer.app.config import HomeAssistantConfig, MqttConfig, ServiceConfig, StorageConfig
from shems_optimizer.core.planner.options import HIGHS, SolverUnavailable, check_solver

_LOGGER = logging.getLogger(__name__)
DEFAULT_SUPERVISOR = "http://supervisor"
ADDON_PORT = 8099

OPTIONS = vol.Schema(
    {
        vol.Optional("storage", default="embedded"): vol.In(("embedded", "timescaledb")),
        vol.Optional("timescaledb_dsn", default=""): str,
        vol.Optional("mqtt", default="supervisor"): vol.In(("supervisor", "manual", "off")),
        vol.Optional("mqtt_host", default=""): str,
        vol.Optional("mqtt_port", default=1883): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional("mqtt_username", default=""): str,
        vol.Optional("mqtt_password", default=""): str,
        vol.Optional("mqtt_topic_prefix", default="shems"): vol.All(
            str, vol.Match(r"^[A-Za-z0-9_/-]{1,64}$")
        ),
        vol.Optional("optimization_interval_min", default=15): vol.All(int, vol.Range(min=5, max=1440)),
        vol.Optional("rate_limit_per_min", default=1000): vol.All(int, vol.Range(min=10, max=1_000_000)),
        vol.Optional("log_level", default="info"): vol.In(("debug", "info", "warning", "error")),
        vol.Optional("solver", default=HIGHS): str,
    },
    extra=vol.PREVENT_EXTRA,
)


class AddonConfigError(Exception):
    """An option or the Supervisor's answer makes starting impossible; the message says which."""


def supervisor_url() -> str:
    return os.environ.get("SUPERVISOR_URL", DEFAULT_SUPERVISOR).rstrip("/")


def supervisor_get(path: str, token: str, timeout_s: float = 10.0) -> dict[str, Any] | None:
    """GET a Supervisor endpoint; ``None`` when the service does not exist (HTTP 400/404)."""
    request = urllib.request.Request(supervisor_url() + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as err:
        if err.code in (400, 404):
            return None
        raise AddonConfigError(f"Supervisor {path} answered HTTP {err.code}") from err
    except (urllib.error.URLError, TimeoutError, ValueError) as err:
        raise AddonConfigError(f"Supervisor {path} unreachable or unreadable: {err}") from err
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else None


def supervisor_post(
    path: str, token: str, payload: dict[str, Any], timeout_s: float = 10.0
) -> dict[str, Any]:
    request = urllib.request.Request(
        supervisor_url() + path,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as resp:
        body = json.loads(resp.read())
    return body if isinstance(body, dict) else {}


def read_options(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "options.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise AddonConfigError(f"{path} is missing (is this running as a Home Assistant add-on?)") from err
    except ValueError as err:
        raise AddonConfigError(f"{path} is not valid JSON: {err}") from err
    try:
        options: dict[str, Any] = OPTIONS(raw)
    except vol.MultipleInvalid as err:
        first = err.errors[0]
        name = ".".join(str(p) for p in first.path) or "options"
        raise AddonConfigError(f"option {name!r}: {first.msg}") from err
    return options


def config_from_addon(data_dir: Path) -> ServiceConfig:
    options = read_options(data_dir)
    token = os.environ.get("SUPERVISOR_TOKEN", "")
    try:
        check_solver(options["solver"])
    except SolverUnavailable as err:
        raise AddonConfigError(f"option 'solver': {err}") from err
    if options["storage"] == "timescaledb" and not options["timescaledb_dsn"]:
        raise AddonConfigError("option 'timescaledb_dsn': required when storage is timescaledb")
    mqtt: MqttConfig | None = None
    if options["mqtt"] == "manual":
        if not options["mqtt_host"]:
            raise AddonConfigError("option 'mqtt_host': required when mqtt is manual")
        mqtt = MqttConfig(
            host=options["mqtt_host"],
            port=options["mqtt_port"],
            username=options["mqtt_username"] or None,
            password=options["mqtt_password"] or None,
            topic_prefix=options["mqtt_topic_prefix"],
        )
    elif options["mqtt"] == "supervisor":
        if not token:
            raise AddonConfigError(
                "SUPERVISOR_TOKEN is not set: cannot ask the Supervisor for the MQTT broker"
            )
        service = supervisor_get("/services/mqtt", token)
        if service is None:
            _LOGGER.warning("no MQTT broker is provided by the Supervisor; MQTT devices are off")
        else:
            try:
                mqtt = MqttConfig(
                    host=str(service["host"]),
                    port=int(service["port"]),
                    username=service.get("username") or None,
                    password=service.get("password") or None,
                    topic_prefix=options["mqtt_topic_prefix"],
                )
            except (KeyError, TypeError, ValueError) as err:
                raise AddonConfigError(f"the Supervisor's MQTT service answer lacks {err}") from err
    homeassistant = HomeAssistantConfig(url=supervisor_url() + "/core", token=token) if token else None
    return ServiceConfig(
        data_dir=data_dir,
        host="0.0.0.0",
        port=ADDON_PORT,
        storage=StorageConfig(kind=options["storage"], dsn=options["timescaledb_dsn"] or None),
        mqtt=mqtt,
        homeassistant=homeassistant,
        optimization_interval_min=options["optimization_interval_min"],
        rate_limit_per_min=options["rate_limit_per_min"],
        log_level=options["log_level"],
        solver=options["solver"],
        announce_discovery=bool(token),
    )


def announce(api_token: str, port: int = ADDON_PORT) -> None:
    """Tell Home Assistant (through the Supervisor) where the add-on's API is, for the integration."""
    token = os.environ.get("SUPERVISOR_TOKEN", "")
    payload = {"service": "shems", "config": {"host": socket.gethostname(), "port": port, "token": api_token}}
    try:
        supervisor_post("/discovery", token, payload)
    except (urllib.error.URLError, TimeoutError, ValueError) as err:
        _LOGGER.warning(
            "discovery announcement failed; add the integration by hand", extra={"error": str(err)}
        )
        return
    _LOGGER.info("announced to Home Assistant for discovery")
