"""The SHEMS add-on as its own process, started the way a plain container starts it: ``addon/run.sh``
with the ``SHEMS_*`` variables of DOCS.md ("Plain container").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.processes import ManagedProcess, free_port, until


@dataclass(frozen=True)
class AddonSettings:
    data_dir: Path
    log: Path
    mqtt_host: str
    mqtt_port: int
    ha_url: str
    ha_token: str
    storage: str = "embedded"
    dsn: str | None = None
    topic_prefix: str = "shems"


@dataclass
class Addon:
    process: ManagedProcess
    url: str
    data_dir: Path

    @property
    def token(self) -> str:
        """The API token the add-on made on first start (``/data/api_token`` in the container)."""
        return (self.data_dir / "api_token").read_text(encoding="utf-8").strip()

    async def wait_ready(self, session: aiohttp.ClientSession, timeout_s: float) -> None:
        async def healthy() -> bool:
            async with session.get(f"{self.url}/api/v1/health") as resp:
                return resp.status == 200 and (self.data_dir / "api_token").exists()

        await until(healthy, timeout_s=timeout_s, what="the add-on's health", alive=[self.process])


def start_addon(settings: AddonSettings, repo: Path) -> Addon:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(repo / "optimizer"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "SHEMS_PLAIN": "1",
        "SHEMS_DATA_DIR": str(settings.data_dir),
        "SHEMS_PORT": str(port),
        "SHEMS_STORAGE": settings.storage,
        "SHEMS_MQTT_HOST": settings.mqtt_host,
        "SHEMS_MQTT_PORT": str(settings.mqtt_port),
        "SHEMS_MQTT_TOPIC_PREFIX": settings.topic_prefix,
        "SHEMS_HA_URL": settings.ha_url,
        "SHEMS_HA_TOKEN": settings.ha_token,
        "SHEMS_LOG_LEVEL": "info",
    }
    if settings.dsn:
        env["SHEMS_DSN"] = settings.dsn
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    process = ManagedProcess(
        name=f"add-on ({settings.storage})",
        argv=["sh", str(repo / "addon" / "run.sh")],
        log=settings.log,
        env=env,
    ).start()
    return Addon(process=process, url=f"http://127.0.0.1:{port}", data_dir=settings.data_dir)
