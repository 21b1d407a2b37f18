"""Commands across a SIGKILL of the real ``shems-optimizer serve`` process, over the real broker.

A command's expiry is ``created_at + ttl_s`` and is kept in the store: a command that expired while
the service was dead is never sent again after the restart, and the reason a command failed or
expired is still there when the service comes back. Acks count only from the device's own topic.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.processes import free_port
from tests.support.service import register_appliance, until_answering

TOKEN = "kill-test-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class ServeProcess:
    """``shems-optimizer serve`` in its own process, on a fixed port, with a data directory."""

    data_dir: Path
    broker: Any
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token_file = self.data_dir / "api_token"
        token_file.write_text(TOKEN + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        log = open(self.data_dir / "serve.log", "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shems_optimizer",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--mqtt-host",
                self.broker.host,
                "--mqtt-port",
                str(self.broker.port),
                "--mqtt-topic-prefix",
                "killtest",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def check_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.log_tail()

    def log_tail(self) -> str:
        return (self.data_dir / "serve.log").read_text(errors="replace")[-3000:]


@pytest.fixture
def serve(tmp_path: Path, mqtt_broker: Any) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path / "data", mqtt_broker)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        yield session


async def _until_ready(serve: ServeProcess, http: aiohttp.ClientSession, within_s: float = 90) -> None:
    """Until the process answers API requests (commands wait for the broker on their own)."""
    await until_answering(http, f"{serve.url}/api/v1/devices", timeout_s=within_s, alive=[serve])


class Device:
    """A device on the broker: records each command message it gets, answers as told."""

    def __init__(self, factory: Callable[..., Any], device_id: str, answer: str | None) -> None:
        self.command_topic = f"killtest/devices/{device_id}/command"
        self.ack_topic = f"killtest/devices/{device_id}/ack"
        self.answer = answer
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.client = factory(client_id=f"kill-{device_id}")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.subscribe(self.command_topic, qos=1)
        assert subscribed.wait(10)

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        command = json.loads(msg.payload)
        with self.lock:
            self.received.append(command)
        if self.answer is not None:
            ack = {"command_id": command["command_id"], "status": self.answer, "message": "relay stuck"}
            self.client.publish(self.ack_topic, json.dumps(ack), qos=1)

    def copies(self, command_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.received if c["command_id"] == command_id]


async def _send(
    serve: ServeProcess, http: aiohttp.ClientSession, device_id: str, **body: Any
) -> dict[str, Any]:
    async with http.post(
        f"{serve.url}/api/v1/devices/{device_id}/commands", json={"command": "start", **body}
    ) as resp:
        assert resp.status == 202, await resp.text()
        record: dict[str, Any] = await resp.json()
        return record


async def _command(
    serve: ServeProcess, http: aiohttp.ClientSession, record: dict[str, Any]
) -> dict[str, Any]:
    url = f"{serve.url}/api/v1/devices/{record['device_id']}/commands/{record['command_id']}"
    async with http.get(url) as resp:
        assert resp.status == 200
        answer: dict[str, Any] = await resp.json()
        return answer


async def _until(check: Callable[[], Any], what: str, within_s: float = 30) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_expired_command_is_never_resent_after_sigkill_and_reasons_survive(
    serve: ServeProcess, http: aiohttp.ClientSession, mqtt_client_factory: Callable[..., Any]
) -> None:
    silent = Device(mqtt_client_factory, "boiler", answer=None)
    Device(mqtt_client_factory, "pump", answer="error")  # answers every command with an error
    serve.start()
    await _until_ready(serve, http)
    await register_appliance(http, serve.url, "boiler")
    await register_appliance(http, serve.url, "pump")

    failed = await _send(serve, http, "pump")
    await _until(
        lambda: _status_is(serve, http, failed, "failed"), "the refusing device's command did not fail"
    )
    command = await _send(serve, http, "boiler", ttl_s=5)
    created = datetime.fromisoformat(command["created_at"])
    assert datetime.fromisoformat(command["expires_at"]) == created + timedelta(seconds=5)
    first = await _until(lambda: silent.copies(command["command_id"]), "the first attempt never arrived")
    assert datetime.fromisoformat(first[0]["expires_at"]) == created + timedelta(seconds=5)

    serve.kill()  # mid-flight: sent, unacknowledged, retries pending
    sent_before = len(silent.copies(command["command_id"]))
    await _until(lambda: datetime.now(tz=UTC) > created + timedelta(seconds=5.5), "clock")
    serve.start()
    await _until_ready(serve, http)

    after = await _until(
        lambda: _status_is(serve, http, command, "expired"), "the dead command was not expired"
    )
    assert after["error"] == "expired while the service was not running"
    assert after["expires_at"] == command["expires_at"]
    # Messages on one topic arrive in order: once a later command got through, no copy of the
    # expired one was published before it either.
    marker = await _send(serve, http, "boiler", ttl_s=60)
    await _until(lambda: silent.copies(marker["command_id"]), "the later command never arrived")
    assert len(silent.copies(command["command_id"])) == sent_before

    reason = await _command(serve, http, failed)
    assert reason["status"] == "failed"
    assert reason["error"] == "relay stuck"


async def _status_is(
    serve: ServeProcess, http: aiohttp.ClientSession, record: dict[str, Any], status: str
) -> dict[str, Any] | None:
    current = await _command(serve, http, record)
    return current if current["status"] == status else None


async def test_ack_on_another_devices_topic_does_not_count(
    serve: ServeProcess, http: aiohttp.ClientSession, mqtt_client_factory: Callable[..., Any]
) -> None:
    silent = Device(mqtt_client_factory, "heater", answer=None)
    other = Device(mqtt_client_factory, "meter", answer=None)
    serve.start()
    await _until_ready(serve, http)
    await register_appliance(http, serve.url, "heater")
    await register_appliance(http, serve.url, "meter")
    command = await _send(serve, http, "heater", ttl_s=60)
    await _until(lambda: silent.copies(command["command_id"]), "the command never arrived")
    forged = json.dumps({"command_id": command["command_id"], "status": "ok"})
    other.client.publish(other.ack_topic, forged, qos=1).wait_for_publish(10)
    # The device's own ack, sent after the forged one, is what completes the command; had the forged
    # one counted, the command would be acked before this own ack was even sent.
    await _until(lambda: len(silent.copies(command["command_id"])) >= 2, "no retry after the forged ack")
    assert (await _command(serve, http, command))["status"] == "sent"
    own = json.dumps({"command_id": command["command_id"], "status": "ok"})
    silent.client.publish(silent.ack_topic, own, qos=1).wait_for_publish(10)
    acked = await _until(lambda: _status_is(serve, http, command, "acked"), "the own ack did not count")
    assert acked["attempts"] >= 2
