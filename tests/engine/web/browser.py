"""Headless Chromium driven over the DevTools protocol (aiohttp's WebSocket client, no extra package).

A page is opened with ``/json/new``; ``evaluate`` runs JavaScript in it, ``wait_for`` polls a JavaScript
condition with a deadline, ``screenshot`` saves a PNG. Every console error, uncaught exception and
browser log error is collected in ``Page.errors``; failed requests the page answers itself (the API's
401 before a token is entered) are logged by Chromium as network errors and kept apart in
``Page.network_errors``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = "/usr/lib/chromium/chromium" if shutil.which("chromium") else None
LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.errors: list[str] = []
        self.network_errors: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                self.errors.append(str(details.get("exception", {}).get("description") or details["text"]))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                self.errors.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                kept = self.network_errors if entry.get("source") == "network" else self.errors
                kept.append(f"{entry.get('url', '')}: {entry['text']}")

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self._ws.send_json({"id": ident, "method": method, "params": params})
        answer = await asyncio.wait_for(future, timeout=30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)

    async def wait_for(self, condition: str, timeout_s: float = 30.0) -> None:
        """Poll the JavaScript ``condition`` until it is true, at most ``timeout_s``."""
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    if await self.evaluate(f"Boolean({condition})"):
                        return
                except RuntimeError:
                    pass  # the page is between documents
                await asyncio.sleep(0.1)

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        await self._ws.close()
        await self._reader


class Browser:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self._http = http
        self._base = base

    @asynccontextmanager
    async def page(self, width: int = 1280, height: int = 2400) -> AsyncIterator[Page]:
        async with self._http.put(f"{self._base}/json/new?about:blank") as resp:
            target = await resp.json()
        ws = await self._http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        try:
            for domain in ("Page", "Runtime", "Log"):
                await page.send(f"{domain}.enable")
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            yield page
        finally:
            await page.close()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium with its own throw-away profile, stopped (and waited for) on exit."""
    assert CHROMIUM, "Debian's chromium is not installed in the test environment"
    with tempfile.TemporaryDirectory(prefix="shems-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None
            async with asyncio.timeout(60):
                while True:
                    line = (await proc.stderr.readline()).decode()
                    assert line, "chromium ended before its DevTools endpoint was up"
                    found = LISTENING.search(line)
                    if found:
                        break
            drain = asyncio.create_task(proc.stderr.read())
            base = "http://" + found.group(1).split("/")[2]
            async with aiohttp.ClientSession() as http:
                yield Browser(http, base)
        finally:
            if proc.returncode is None:
                proc.terminate()
            await asyncio.wait_for(proc.wait(), timeout=30)
            if "drain" in locals():
                await drain
