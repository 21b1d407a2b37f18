"""Headless Chromium driven over the DevTools protocol: load a page as a logged-in user, wait until it
shows what it should, keep a screenshot and return the text a person sees (shadow DOM included, which
is where Home Assistant's frontend renders everything).

Each tab collects what the page logs as errors: uncaught exceptions, ``console.error`` and browser log
errors in ``Tab.errors``; failed requests (Chromium logs every HTTP error answer, e.g. an expected 401)
apart in ``Tab.network_errors``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import aiohttp

from .processes import ManagedProcess, until

# The first element with this tag name anywhere in the page, shadow roots included.
FIND_DEEP_JS = """
((tag) => {
  const find = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.localName === tag) return el;
      if (el.shadowRoot) { const hit = find(el.shadowRoot); if (hit) return hit; }
    }
    return null;
  };
  return find(document);
})"""

# Every text node, walking into shadow roots and skipping scripts and styles; form fields by value.
VISIBLE_TEXT_JS = """
(() => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const text = node.textContent.trim();
      if (text) out.push(text);
      return;
    }
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (["SCRIPT", "STYLE", "TEMPLATE"].includes(node.tagName)) return;
      if (["INPUT", "TEXTAREA"].includes(node.tagName) && node.value) out.push(node.value);
      if (node.shadowRoot) walk(node.shadowRoot);
    }
    for (const child of node.childNodes) walk(child);
  };
  walk(document);
  return out.join("\\n");
})()
"""


# How the tests run Chromium: headless, in a container (no sandbox, no GPU, small /dev/shm), no first-run
# pages or scroll bars in the screenshots.
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
)


class Browser:
    """One Chromium process; each :meth:`open` is a fresh tab with its own storage set-up."""

    def __init__(self, profile: Path, log: Path, time_zone: str = "UTC") -> None:
        binary = shutil.which("chromium")
        assert binary, "chromium is not installed in the test environment"
        self.profile = profile
        self.process = ManagedProcess(
            name="chromium",
            argv=[
                binary,
                *HEADLESS,
                "--mute-audio",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            log=log,
            env={"HOME": str(profile), "PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": time_zone},
        )
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tabs: dict[str, Tab] = {}

    async def start(self) -> None:
        self.process.start()
        port_file = self.profile / "DevToolsActivePort"

        async def endpoint() -> str | None:
            if not port_file.exists():
                return None
            lines = port_file.read_text(encoding="utf-8").split()
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}" if len(lines) >= 2 else None

        url = await until(endpoint, timeout_s=60, what="Chromium's DevTools port", alive=[self.process])
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
            elif "method" in data and data.get("sessionId") in self._tabs:
                self._tabs[data["sessionId"]].event(data["method"], data.get("params", {}))

    async def send(self, method: str, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session_id:
            message["sessionId"] = session_id
        await self._ws.send_json(message)
        reply = await asyncio.wait_for(future, timeout=60)
        assert "error" not in reply, f"{method}: {reply['error']}"
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def open(
        self,
        url: str,
        *,
        local_storage: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        width: int = 1280,
        height: int = 1000,
    ) -> Tab:
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        tab = Tab(self, target["targetId"], attached["sessionId"])
        self._tabs[tab.session_id] = tab
        for domain in ("Page", "Runtime", "Log"):
            await tab.send(f"{domain}.enable")
        await tab.resize(width, height)
        if local_storage:
            # Set before any of the page's scripts run, as a logged-in browser would have it.
            items = ";".join(
                f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)})"
                for key, value in local_storage.items()
            )
            await tab.send("Page.addScriptToEvaluateOnNewDocument", source=items)
        if headers:
            await tab.send("Network.enable")
            await tab.send("Network.setExtraHTTPHeaders", headers=headers)
        await tab.send("Page.navigate", url=url)
        return tab

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        self.process.stop(timeout_s=15)


class Tab:
    def __init__(self, browser: Browser, target_id: str, session_id: str) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.errors: list[str] = []
        self.network_errors: list[str] = []

    def event(self, method: str, params: dict[str, Any]) -> None:
        """Keep what the page reports as an error (see the module's docstring)."""
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(str(details.get("exception", {}).get("description") or details["text"]))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            kept = self.network_errors if entry.get("source") == "network" else self.errors
            kept.append(f"{entry.get('url', '')}: {entry['text']}")

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, self.session_id, **params)

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    async def visible_text(self) -> str:
        text: str = await self.evaluate(VISIBLE_TEXT_JS)
        return text

    async def wait_for_text(self, *needles: str, timeout_s: float = 60) -> str:
        """The page's text once it contains every needle (the page has finished rendering its data)."""

        async def rendered() -> str | None:
            text = await self.visible_text()
            return text if all(needle in text for needle in needles) else None

        return await until(
            rendered, timeout_s=timeout_s, what=f"page text with {needles!r}", alive=[self.browser.process]
        )

    async def goto_in_app(self, path: str) -> None:
        """Move to ``path`` the way the frontend's own links do (no reload of the whole application)."""
        await self.evaluate(
            f"history.pushState(null, '', {json.dumps(path)});"
            "window.dispatchEvent(new CustomEvent('location-changed', {detail: {replace: false}}))"
        )

    async def resize(self, width: int, height: int) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def wait_for_js(self, expression: str, timeout_s: float = 60) -> None:
        async def true() -> bool:
            return bool(await self.evaluate(expression))

        await until(true, timeout_s=timeout_s, what=expression, alive=[self.browser.process])

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def close(self) -> None:
        await self.browser.send("Target.closeTarget", targetId=self.target_id)
