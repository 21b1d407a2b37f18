"""Fixtures shared by every test run: real PostgreSQL/TimescaleDB, a real MQTT broker, service control.

The services are started by ``scripts/dev`` (or provided by the contributor) and found through
environment variables. A missing service is an error, never a skip: a test that cannot reach its real
component must fail loudly.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# ---------------------------------------------------------------------------------------------------
# A skipped test is a failed test in this project.


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped tests count as failures in SHEMS: {reason}"


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run the suite with `make test` (or `scripts/dev run ...`), "
            "or export it to point at your own service (see README)",
            pytrace=False,
        )
    return value


# ---------------------------------------------------------------------------------------------------
# PostgreSQL + TimescaleDB


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    """DSN of a superuser connection able to create databases."""
    return _require_env("SHEMS_TEST_PG_DSN")


@pytest.fixture(scope="module")
def timescale_dsn(pg_admin_dsn: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database with the TimescaleDB extension, private to one test module."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())[:30]
    dbname = f"t_{module}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    dsn = make_conninfo(pg_admin_dsn, dbname=dbname)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    yield dsn
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------------
# MQTT


@dataclass(frozen=True)
class MqttBroker:
    host: str
    port: int


@pytest.fixture(scope="session")
def mqtt_broker() -> MqttBroker:
    return MqttBroker(
        host=_require_env("SHEMS_TEST_MQTT_HOST"),
        port=int(_require_env("SHEMS_TEST_MQTT_PORT")),
    )


@pytest.fixture
def mqtt_client_factory(mqtt_broker: MqttBroker) -> Iterator[Callable[..., Any]]:
    """Create connected paho-mqtt clients (network loop running); all are stopped at teardown."""
    import paho.mqtt.client as mqtt

    clients: list[Any] = []

    def factory(client_id: str | None = None, clean_start: bool = True, **kwargs: Any) -> Any:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv5,
            **kwargs,
        )
        client.connect(mqtt_broker.host, mqtt_broker.port, keepalive=30, clean_start=clean_start)
        client.loop_start()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.disconnect()
        client.loop_stop()


# ---------------------------------------------------------------------------------------------------
# Stopping and starting the real services (reliability tests)


@dataclass(frozen=True)
class Services:
    ctl: str

    def _run(self, action: str) -> None:
        subprocess.run([self.ctl, action], check=True, timeout=120)

    def stop_postgres(self) -> None:
        self._run("pg-stop")

    def start_postgres(self) -> None:
        self._run("pg-start")

    def crash_postgres(self) -> None:
        """Stop PostgreSQL as a crash would (``pg_ctl -m immediate``): no shutdown checkpoint."""
        self._run("pg-crash")

    def stop_mosquitto(self) -> None:
        self._run("mqtt-stop")

    def start_mosquitto(self) -> None:
        self._run("mqtt-start")


@pytest.fixture(scope="session")
def services() -> Services:
    return Services(ctl=_require_env("SHEMS_TEST_SERVICES_CTL"))
