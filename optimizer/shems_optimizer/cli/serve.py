"""`shems-optimizer serve`: run the add-on service (API, MPC loop, dispatch) until SIGTERM/SIGINT.

``--addon`` reads the Home Assistant add-on options (``/data/options.json``) and the Supervisor's
MQTT service; otherwise the flags describe the installation (plain container or a developer's host).
Secrets never go on the command line, where ``ps`` shows them: the TimescaleDB DSN, the MQTT password
and the Home Assistant token come from ``SHEMS_DSN``, ``SHEMS_MQTT_PASSWORD`` and ``SHEMS_HA_TOKEN``.
Outside the add-on no peer is trusted without the API token (there is no ingress proxy to trust).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from shems_optimizer.app.config import HomeAssistantConfig, MqttConfig, ServiceConfig, StorageConfig
from shems_optimizer.cli.arguments import add_solver_argument
from shems_optimizer.core.planner.options import check_solver
from shems_optimizer.runtime.logs import configure_logging

_LOGGER = logging.getLogger("shems_optimizer.serve")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the add-on service: API, MPC loop, dispatch")
    parser.add_argument(
        "--addon", action="store_true", help="configure from /data/options.json and the Supervisor"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path("/data"), help="where state is kept (default /data)"
    )
    parser.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=None, help="listen port (default 8099)")
    parser.add_argument("--storage", choices=("embedded", "timescaledb"), default="embedded")
    parser.add_argument("--dsn", help="TimescaleDB DSN (or SHEMS_DSN in the environment)")
    parser.add_argument("--mqtt-host", help="MQTT broker host (none: MQTT off)")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--mqtt-username")
    parser.add_argument("--mqtt-topic-prefix", default="shems", help="command/ack/plan topic prefix")
    parser.add_argument(
        "--ha-url", help="Home Assistant's URL, e.g. http://192.168.1.5:8123 (token: SHEMS_HA_TOKEN)"
    )
    parser.add_argument(
        "--rate-limit", type=int, default=1000, help="API requests per minute per client (default 1000)"
    )
    parser.add_argument("--interval", type=int, default=15, help="re-plan every N minutes (default 15)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    add_solver_argument(parser)
    parser.set_defaults(func=_run)


def _config_from_args(args: argparse.Namespace) -> ServiceConfig:
    import os

    dsn = args.dsn or os.environ.get("SHEMS_DSN")
    mqtt = None
    if args.mqtt_host:
        mqtt = MqttConfig(
            host=args.mqtt_host,
            port=args.mqtt_port,
            username=args.mqtt_username,
            password=os.environ.get("SHEMS_MQTT_PASSWORD") or None,
            topic_prefix=args.mqtt_topic_prefix,
        )
    check_solver(args.solver)
    homeassistant = None
    if args.ha_url:
        ha_token = os.environ.get("SHEMS_HA_TOKEN", "")
        if not ha_token:
            raise ValueError("--ha-url needs a long-lived access token in SHEMS_HA_TOKEN")
        homeassistant = HomeAssistantConfig(url=args.ha_url.rstrip("/"), token=ha_token)
    return ServiceConfig(
        data_dir=args.data_dir,
        host=args.host,
        port=8099 if args.port is None else args.port,
        storage=StorageConfig(kind=args.storage, dsn=dsn),
        mqtt=mqtt,
        homeassistant=homeassistant,
        optimization_interval_min=args.interval,
        rate_limit_per_min=args.rate_limit,
        trusted_peers=(),
        log_level=args.log_level,
        solver=args.solver,
    )


def _run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        if args.addon:
            from shems_optimizer.adapters.homeassistant.addon_options import (
                AddonConfigError,
                config_from_addon,
            )

            try:
                config = config_from_addon(args.data_dir)
            except AddonConfigError as err:
                _LOGGER.error("invalid add-on configuration: %s", err)
                return 2
            if args.port is not None:
                config = replace(config, port=args.port)
            configure_logging(config.log_level)
        else:
            config = _config_from_args(args)
    except ValueError as err:
        _LOGGER.error("invalid configuration: %s", err)
        return 2
    return asyncio.run(_serve(config))


async def _serve(config: ServiceConfig) -> int:
    from shems_optimizer.wiring.process import Service

    service = Service(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
    except OSError as err:
        _LOGGER.error("cannot start the service: %s", err)
        await service.stop()
        return 1
    await stop.wait()
    _LOGGER.info("stopping")
    await service.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
