"""A Home Assistant backup taken while the add-on ingests loses nothing up to the backup's moment.

The Supervisor's part is played as it does it: run the add-on's ``backup_pre`` command from
addon/config.yaml inside the add-on's context (here: the same data directory), tar the data directory
honouring ``backup_exclude`` (its patterns matched against each file's full path, as the Supervisor
does), and on restore give the add-on a fresh data directory holding only the tar's files.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

import aiohttp
import pytest
import yaml

from shems_optimizer.adapters.store.sqlite_backup import SnapshotError, snapshot_path
from shems_optimizer.wiring.testing import running_service

ADDON_CONFIG = Path(__file__).resolve().parents[3] / "addon" / "config.yaml"
DEVICE = "heatpump"
TOPIC = "home/heatpump/state"
SITE = {"name": "Backup house", "timezone": "Europe/Berlin"}


def _addon_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(ADDON_CONFIG.read_text(encoding="utf-8"))
    return config


def _run_backup_pre(data_dir: Path) -> dict[str, Any]:
    """The hook's command line, with the container's /data pointing at the test's data directory."""
    argv = shlex.split(_addon_config()["backup_pre"])
    assert argv[0] == "shems-optimizer"
    argv = [
        sys.executable,
        "-m",
        "shems_optimizer",
        *(str(data_dir) if a == "/data" else a for a in argv[1:]),
    ]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _tar_like_supervisor(data_dir: Path, target: Path) -> list[str]:
    excludes = list(_addon_config()["backup_exclude"])
    names: list[str] = []
    with tarfile.open(target, "w:gz") as tar:

        def add(path: Path, arcname: str) -> None:
            if any(PurePath(path).match(pattern) for pattern in excludes):
                return
            tar.add(path, arcname=arcname, recursive=False)
            names.append(arcname)
            if path.is_dir():
                for child in sorted(path.iterdir()):
                    add(child, f"{arcname}/{child.name}")

        add(data_dir, "data")
    return names


def _stored_times(db_path: Path) -> set[int]:
    conn = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True)
    try:
        return {
            row[0]
            for row in conn.execute("SELECT time FROM energy_consumption WHERE device_id = ?", (DEVICE,))
        }
    finally:
        conn.close()


def _integrity(db_path: Path) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


class Publisher:
    """Publishes one QoS 1 reading every few milliseconds, each a millisecond later than the last."""

    def __init__(self, client: Any, base: datetime) -> None:
        self._client = client
        self._base = base
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = None
        while not self._stop.is_set():
            at = self._base + timedelta(milliseconds=self.sent)
            payload = {"time": at.isoformat(), "power_w": float(self.sent)}
            last = self._client.publish(TOPIC, json.dumps(payload), qos=1)
            self.sent += 1
            self._stop.wait(0.003)
        if last is not None:
            last.wait_for_publish(15)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


async def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polls files another process writes
            await asyncio.sleep(0.05)
    assert condition(), what


async def test_backup_while_ingesting_restores_everything_up_to_the_snapshot(
    tmp_path: Path, mqtt_broker: Any, mqtt_client_factory: Callable[..., Any]
) -> None:
    live_dir, restored_dir = tmp_path / "data", tmp_path / "restored"
    live_db = live_dir / "shems.sqlite3"
    archive = tmp_path / "addon_shems.tar.gz"
    async with running_service(
        live_dir, token=None, mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port
    ) as svc:
        assert svc.service is not None and svc.service.telemetry is not None
        token = svc.token
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.put(f"{svc.url}/api/v1/site", json=SITE) as resp:
                assert resp.status == 200, await resp.text()
            body = {
                "device_id": DEVICE,
                "name": "Heat pump",
                "type": "heat_pump",
                "mqtt": {"state_topic": TOPIC},
            }
            async with http.post(f"{svc.url}/api/v1/devices", json=body) as resp:
                assert resp.status == 201, await resp.text()
        telemetry = svc.service.telemetry
        await _wait_for(lambda: telemetry.health()[1] == "subscribed", "telemetry subscribed")
        publisher = Publisher(mqtt_client_factory(), datetime.now(tz=UTC) - timedelta(minutes=30))
        publisher.start()
        try:
            await _wait_for(lambda: len(_stored_times(live_db)) >= 150, "readings stored before the backup")
            before = _stored_times(live_db)  # committed before the hook runs, hence before its snapshot
            hook = await asyncio.to_thread(_run_backup_pre, live_dir)
            names = await asyncio.to_thread(_tar_like_supervisor, live_dir, archive)
            # Ingestion went on during the backup and goes on after it.
            await _wait_for(
                lambda: len(_stored_times(live_db)) > hook["snapshot"]["readings"] + 50,
                "readings stored after the backup",
            )
        finally:
            await asyncio.to_thread(publisher.stop)
    assert hook["snapshot"]["readings"] >= len(before)
    assert "data/shems.sqlite3" not in names and "data/shems.sqlite3-wal" not in names
    assert "data/backup/snapshot.sqlite3" in names and "data/api_token" in names

    # The Supervisor's restore: the old data directory goes, the tar's files come back.
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "extract", filter="fully_trusted")
    shutil.copytree(tmp_path / "extract" / "data", restored_dir, symlinks=True)
    assert not (restored_dir / "shems.sqlite3").exists()

    async with running_service(restored_dir, token=None) as restored:
        assert restored.token == token
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.get(f"{restored.url}/api/v1/site") as resp:
                site = await resp.json()
            async with http.get(f"{restored.url}/api/v1/devices") as resp:
                devices = (await resp.json())["devices"]
        assert site["name"] == SITE["name"]
        assert [d["name"] for d in devices] == ["Heat pump"]
        assert restored.service is not None and restored.service.repo is not None
        repo = restored.service.repo
        cutoff = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=max(before) + 1)
        stored_up_to_cutoff = await asyncio.to_thread(repo.count_readings, DEVICE, None, cutoff)
        assert stored_up_to_cutoff == len(before)
    restored_times = _stored_times(restored_dir / "shems.sqlite3")
    assert before <= restored_times
    assert len(restored_times) == hook["snapshot"]["readings"]
    assert _integrity(restored_dir / "shems.sqlite3") == ["ok"]


async def test_a_clean_stop_leaves_a_snapshot_of_everything(tmp_path: Path) -> None:
    """No hook runs for a backup of a stopped add-on: the snapshot written on stop is what it keeps."""
    from shems_optimizer.app.records.models import Reading

    start = datetime.now(tz=UTC) - timedelta(hours=2)
    async with running_service(tmp_path, token="t") as svc:
        assert svc.service is not None and svc.service.devices is not None and svc.service.repo is not None
        await svc.service.devices.register_device({"device_id": DEVICE, "name": "Heat pump", "type": "load"})
        readings = [Reading(DEVICE, start + timedelta(seconds=i), power_w=1.0) for i in range(500)]
        await asyncio.to_thread(svc.service.repo.write_readings, readings)
    assert len(_stored_times(snapshot_path(tmp_path))) == 500
    assert _integrity(snapshot_path(tmp_path)) == ["ok"]


async def test_a_damaged_snapshot_is_refused_not_started_empty(tmp_path: Path) -> None:
    snap = snapshot_path(tmp_path)
    snap.parent.mkdir(parents=True)
    snap.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8192)
    with pytest.raises(SnapshotError, match="snapshot"):
        async with running_service(tmp_path, token="t"):
            pass
    assert not (tmp_path / "shems.sqlite3").exists()
