"""A real Home Assistant core process (``hass``) for the journey, with its frontend and the integration
installed in its configuration directory.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.processes import ManagedProcess, free_port, until

from .home_config import write_config_dir


@dataclass
class HassProcess:
    process: ManagedProcess
    url: str
    config_dir: Path
    log: Path

    async def wait_ready(self, session: aiohttp.ClientSession, timeout_s: float) -> None:
        """Onboarding's status answers once the HTTP server and the onboarding views are up."""

        async def answering() -> bool:
            async with session.get(f"{self.url}/api/onboarding") as resp:
                return resp.status == 200

        await until(
            answering,
            timeout_s=timeout_s,
            what="Home Assistant's HTTP API",
            interval_s=1.0,
            alive=[self.process],
        )


def start_hass(workdir: Path, log: Path, repo: Path) -> HassProcess:
    binary = shutil.which("hass")
    assert binary, "Home Assistant (hass) is not installed in the test environment"
    port = free_port()
    config_dir = workdir / "config"
    stubs = workdir / "stubs"
    write_config_dir(config_dir, stubs, port, repo)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(stubs),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    process = ManagedProcess(
        name="hass",
        argv=[binary, "-c", str(config_dir), "--skip-pip", "--log-file", str(log), "--log-no-color"],
        log=log.with_name(log.stem + ".stdout.log"),
        env=env,
    ).start()
    return HassProcess(process=process, url=f"http://127.0.0.1:{port}", config_dir=config_dir, log=log)
