"""The add-on entrypoint (addon/run.sh) against a stand-in Supervisor: start-up, discovery, bad options."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.processes import free_port

from .conftest import SUPERVISOR_TOKEN, StandInSupervisor

REPO = Path(__file__).resolve().parents[3]
RUN_SH = REPO / "addon" / "run.sh"

GOOD_OPTIONS: dict[str, Any] = {
    "storage": "embedded",
    "timescaledb_dsn": "",
    "mqtt": "supervisor",
    "mqtt_host": "",
    "mqtt_port": 1883,
    "mqtt_username": "",
    "mqtt_password": "",
    "mqtt_topic_prefix": "shems",
    "optimization_interval_min": 15,
    "rate_limit_per_min": 1000,
    "log_level": "info",
    "solver": "highs",
}


def _env(supervisor: StandInSupervisor, data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SUPERVISOR_URL=supervisor.url,
        SUPERVISOR_TOKEN=SUPERVISOR_TOKEN,
        SHEMS_DATA_DIR=str(data_dir),
        SHEMS_PORT=str(port),
        PYTHONPATH=f"{REPO / 'optimizer'}:{REPO}",
    )
    return env


async def _start(options: dict[str, Any], tmp_path: Path, supervisor: StandInSupervisor) -> tuple[Any, int]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "options.json").write_text(json.dumps(options))
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        "sh",
        str(RUN_SH),
        env=_env(supervisor, data_dir, port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return proc, port


async def test_starts_announces_itself_and_stops_cleanly(
    tmp_path: Path, supervisor: StandInSupervisor
) -> None:
    proc, port = await _start(GOOD_OPTIONS, tmp_path, supervisor)
    try:
        health = None
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/health") as resp:
                        health = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert health is not None, "the service never answered"
        assert health["status"] in ("ok", "degraded")
        for _ in range(100):
            if supervisor.discovery:
                break
            await asyncio.sleep(0.05)
        token = (tmp_path / "data" / "api_token").read_text().strip()
        assert supervisor.discovery == [
            {"service": "shems", "config": {"host": socket.gethostname(), "port": port, "token": token}}
        ]
        assert supervisor.unauthorized == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert "SHEMS service stopped" in messages
    assert all(token not in line for line in stderr.decode().splitlines())  # the token is never logged


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"storage": "mongodb"}, "option 'storage'"),
        ({"mqtt_port": "abc"}, "option 'mqtt_port'"),
        ({"optimization_interval_min": 1}, "option 'optimization_interval_min'"),
        ({"surprise": True}, "option 'surprise'"),
        ({"storage": "timescaledb", "timescaledb_dsn": ""}, "option 'timescaledb_dsn'"),
        ({"mqtt": "manual", "mqtt_host": ""}, "option 'mqtt_host'"),
        ({"solver": "cbc"}, "option 'solver': solver 'cbc': use 'highs' (the default) or 'pulp:<solver>'"),
        ({"solver": "pulp:gurobi"}, "option 'solver': solver 'pulp:gurobi': PuLP finds no working GUROBI"),
    ],
)
async def test_invalid_options_end_with_one_clear_line(
    tmp_path: Path, supervisor: StandInSupervisor, change: dict[str, Any], words: str
) -> None:
    proc, _ = await _start({**GOOD_OPTIONS, **change}, tmp_path, supervisor)
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert entry["level"] == "error" and words in entry["message"]
    assert "Traceback" not in stderr.decode()


async def test_missing_options_file_is_one_clear_line(tmp_path: Path, supervisor: StandInSupervisor) -> None:
    data_dir = tmp_path / "empty"
    data_dir.mkdir()
    proc = await asyncio.create_subprocess_exec(
        "sh",
        str(RUN_SH),
        env=_env(supervisor, data_dir, free_port()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    (line,) = stderr.decode().splitlines()
    assert "options.json is missing" in json.loads(line)["message"]


@pytest.mark.parametrize("mqtt_service", [True, False])
async def test_mqtt_broker_comes_from_the_supervisor(
    tmp_path: Path, supervisor: StandInSupervisor, monkeypatch: pytest.MonkeyPatch, mqtt_service: bool
) -> None:
    from shems_optimizer.adapters.homeassistant.addon_options import config_from_addon

    if not mqtt_service:
        supervisor.mqtt = None  # no broker add-on installed: MQTT devices are off, the add-on still starts
    (tmp_path / "options.json").write_text(json.dumps(GOOD_OPTIONS))
    monkeypatch.setenv("SUPERVISOR_URL", supervisor.url)
    monkeypatch.setenv("SUPERVISOR_TOKEN", SUPERVISOR_TOKEN)
    config = await asyncio.to_thread(config_from_addon, tmp_path)
    assert config.solver == "highs"
    if mqtt_service:
        assert supervisor.mqtt is not None
        assert config.mqtt is not None
        assert (config.mqtt.host, config.mqtt.port) == (supervisor.mqtt["host"], supervisor.mqtt["port"])
        assert config.mqtt.username is None  # empty strings from the Supervisor mean "none"
    else:
        assert config.mqtt is None
    assert config.homeassistant is not None and config.homeassistant.url == supervisor.url + "/core"
    assert "***" in repr(config.homeassistant) and SUPERVISOR_TOKEN not in repr(config)


async def test_plain_container_reads_shems_variables(
    tmp_path: Path, timescale_dsn: str, mqtt_broker: Any
) -> None:
    """The documented `docker run` variables: external TimescaleDB, MQTT, port; no token, no trust."""
    data_dir = tmp_path / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SUPERVISOR_TOKEN"}
    env.update(
        SHEMS_DATA_DIR=str(data_dir),
        SHEMS_PORT=str(port),
        SHEMS_STORAGE="timescaledb",
        SHEMS_DSN=timescale_dsn,
        SHEMS_MQTT_HOST=mqtt_broker.host,
        SHEMS_MQTT_PORT=str(mqtt_broker.port),
        SHEMS_MQTT_TOPIC_PREFIX="home1",
        SHEMS_RATE_LIMIT_PER_MIN="120",
        SHEMS_LOG_LEVEL="info",
        PYTHONPATH=f"{REPO / 'optimizer'}:{REPO}",
    )
    proc = await asyncio.create_subprocess_exec(
        "sh", str(RUN_SH), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        health: dict[str, Any] | None = None
        async with aiohttp.ClientSession() as http:
            for _ in range(120):  # every 0.5 s: the 2/s refill of 120 a minute keeps up
                try:
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/health") as resp:
                        answer = await resp.json()
                    if resp.status == 200:
                        health = answer
                        if health["components"].get("mqtt", {}).get("ok"):
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.5)
            assert health is not None, "the service never answered"
            assert health["components"]["store"] == {"ok": True, "detail": "timescaledb"}
            assert health["components"]["mqtt"]["ok"] is True, health
            async with http.get(f"http://127.0.0.1:{port}/api/v1/site") as resp:
                assert resp.status == 401  # a plain container trusts no peer without the token
            token = (data_dir / "api_token").read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(f"http://127.0.0.1:{port}/api/v1/status", headers=headers) as resp:
                assert resp.status == 200
            statuses = []
            for _ in range(200):  # SHEMS_RATE_LIMIT_PER_MIN=120 allows a burst of 120, then 429
                async with http.get(f"http://127.0.0.1:{port}/api/v1/status", headers=headers) as resp:
                    statuses.append(resp.status)
            assert 429 in statuses and set(statuses) == {200, 429}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()
    text = stderr.decode()
    assert token not in text and timescale_dsn not in text  # secrets never reach the log


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        # Home Assistant's URL without the token to reach it
        ({"SHEMS_HA_URL": "http://192.0.2.1:8123"}, ["SHEMS_HA_TOKEN"]),
        # a solver that cannot run here
        (
            {"SHEMS_SOLVER": "pulp:cplex"},
            [
                "solver 'pulp:cplex': PuLP finds no working CPLEX_PY or CPLEX_CMD",
                "available here: highs, pulp:cbc",
            ],
        ),
    ],
    ids=["ha_url_without_token", "solver_that_cannot_run_here"],
)
async def test_plain_container_refuses_a_setting_it_cannot_honour(
    tmp_path: Path, setting: dict[str, str], said: list[str]
) -> None:
    """Refused at start-up with exit code 2 and one JSON line that says why."""
    env = {k: v for k, v in os.environ.items() if k not in ("SUPERVISOR_TOKEN", "SHEMS_HA_TOKEN")}
    env.update(
        SHEMS_PLAIN="1",
        SHEMS_DATA_DIR=str(tmp_path),
        SHEMS_PORT=str(free_port()),
        PYTHONPATH=f"{REPO / 'optimizer'}:{REPO}",
        **setting,
    )
    proc = await asyncio.create_subprocess_exec(
        "sh", str(RUN_SH), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    (line,) = stderr.decode().splitlines()
    message = json.loads(line)["message"]
    for part in said:
        assert part in message
