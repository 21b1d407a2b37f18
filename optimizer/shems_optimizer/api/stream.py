"""WebSocket fan-out: device updates, plan updates and command status changes to every subscriber.

Each subscriber has its own bounded queue and writer task, so one slow client never delays the
others or the publisher; a client whose queue overflows is disconnected (it reconnects and re-reads
the current state over REST). :meth:`StreamHub.publish` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from .jsonio import dumps

_LOGGER = logging.getLogger(__name__)

EVENT_TYPES = ("hello", "device_update", "plan_updated", "command_status", "status")
QUEUE_SIZE = 1000


class _Subscriber:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=QUEUE_SIZE)


class StreamHub:
    def __init__(self) -> None:
        self._subscribers: set[_Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, event_type: str, data: Any) -> None:
        """Queue an event for every subscriber; thread-safe, never blocks."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown stream event type {event_type!r}")
        message = dumps({"type": event_type, "time": datetime.now(tz=UTC), "data": data})
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(message)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, message)

    def _fan_out(self, message: str) -> None:
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                _LOGGER.warning("stream subscriber too slow; disconnecting it")
                self._subscribers.discard(sub)
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(None)

    async def serve(self, request: web.Request, hello: dict[str, Any]) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        self.bind(asyncio.get_running_loop())
        sub = _Subscriber(ws)
        await ws.send_str(dumps({"type": "hello", "time": datetime.now(tz=UTC), "data": hello}))
        self._subscribers.add(sub)
        writer = asyncio.create_task(self._write(sub))
        try:
            async for msg in ws:  # clients only send pings/close; anything else is ignored
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._subscribers.discard(sub)
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _write(self, sub: _Subscriber) -> None:
        while True:
            message = await sub.queue.get()
            if message is None or sub.ws.closed:
                await sub.ws.close()
                return
            try:
                await sub.ws.send_str(message)
            except (ConnectionError, RuntimeError):
                self._subscribers.discard(sub)
                return

    async def close_all(self) -> None:
        for sub in list(self._subscribers):
            with contextlib.suppress(Exception):
                await sub.ws.close(code=1001, message=b"service stopping")
        self._subscribers.clear()
