"""WebSocket fan-out: device updates, plan updates and command status changes to every subscriber.

Each subscriber has its own bounded queue and writer task, so one slow client never delays the
others or the publisher. A subscriber that falls behind - more than :data:`QUEUE_SIZE` events
waiting, or the oldest undelivered event older than :data:`MAX_LAG_S` - is closed with code 1008 and
the reason in words (it reconnects and re-reads the current state over REST); an event is never
delivered later than that. A subscriber whose token stops being valid (rotated) is closed the same
way at once. :meth:`StreamHub.publish` and :meth:`StreamHub.revoke` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from shems_optimizer.runtime.events import EVENT_TYPES
from shems_optimizer.runtime.jsonio import dumps

_LOGGER = logging.getLogger(__name__)

QUEUE_SIZE = 256  # events waiting for one subscriber
MAX_LAG_S = 5.0  # the oldest undelivered event may be this old before the subscriber is closed
CLOSE_TIMEOUT_S = 2.0  # the close handshake with a subscriber that is behind
FLUSH_TIMEOUT_S = 30.0  # ... and the time it has to read up to the close frame before the socket goes
# What may sit unsent per subscriber outside its queue, in the kernel and in the transport: small, so
# that a client that stops reading blocks its writer (and shows as behind) after kilobytes, not after
# the megabytes an auto-tuned socket buffer would swallow.
SEND_BUFFER_BYTES = 32 * 1024
WRITE_BUFFER_BYTES = 16 * 1024
# Token, in the request, that authenticated a stream (None: a trusted peer, valid whatever the token).
STREAM_TOKEN = "shems_stream_token"


class _Subscriber:
    def __init__(self, request: web.Request, ws: web.WebSocketResponse, token: str | None) -> None:
        self.ws = ws
        self.transport = request.transport
        self.token = token
        self.pending: deque[tuple[float, str]] = deque()  # (queued at, message)
        self.ready = asyncio.Event()
        self.sending_since: float | None = None  # queued-at time of the message being written
        self.writer: asyncio.Task[None] | None = None

    def lag(self, now: float) -> float:
        """Age of the oldest event not yet handed to the socket."""
        oldest = self.sending_since if self.sending_since is not None else None
        if oldest is None and self.pending:
            oldest = self.pending[0][0]
        return 0.0 if oldest is None else now - oldest


class StreamHub:
    def __init__(
        self,
        max_lag_s: float = MAX_LAG_S,
        queue_size: int = QUEUE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_lag_s = max_lag_s
        self.queue_size = queue_size
        self._subscribers: set[_Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock = clock
        self._closing: set[asyncio.Task[None]] = set()
        self.dropped_slow = 0  # subscribers closed for falling behind, since start

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _in_loop(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            func(*args)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(func, *args)

    def publish(self, event_type: str, data: Any) -> None:
        """Queue an event for every subscriber; thread-safe, never blocks."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown stream event type {event_type!r}")
        message = dumps({"type": event_type, "time": datetime.now(tz=UTC), "data": data})
        self._in_loop(self._fan_out, message)

    def revoke(self, still_valid: Callable[[str], bool]) -> None:
        """Close every stream opened with a token that ``still_valid`` no longer accepts."""
        self._in_loop(self._close_revoked, still_valid)

    def _close_revoked(self, still_valid: Callable[[str], bool]) -> None:
        for sub in list(self._subscribers):
            if sub.token is not None and not still_valid(sub.token):
                self._drop(sub, "the API token was rotated; reconnect with the new token")

    def _fan_out(self, message: str) -> None:
        now = self._clock()
        for sub in list(self._subscribers):
            lag = sub.lag(now)
            if len(sub.pending) >= self.queue_size or lag > self.max_lag_s:
                self.dropped_slow += 1
                self._drop(
                    sub,
                    f"too slow: {len(sub.pending)} events waiting, the oldest {lag:.1f} s old "
                    f"(limits {self.queue_size} events, {self.max_lag_s:g} s)",
                )
                continue
            sub.pending.append((now, message))
            sub.ready.set()

    def _drop(self, sub: _Subscriber, reason: str) -> None:
        """Stop delivering to ``sub`` and close its socket with ``reason`` (code 1008)."""
        if sub not in self._subscribers:
            return
        self._subscribers.discard(sub)
        _LOGGER.warning("closing a stream subscriber: %s", reason)
        if sub.writer is not None:
            sub.writer.cancel()
        task = asyncio.get_running_loop().create_task(self._close(sub, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(sub: _Subscriber, reason: str) -> None:
        """Send the close frame; give a slow reader time to read up to it, then let go of the socket
        (a client that reads nothing would hold it, with its unsent bytes, forever)."""
        transport = sub.transport
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    sub.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason.encode()[:120]),
                    timeout=CLOSE_TIMEOUT_S,
                )
            deadline = time.monotonic() + FLUSH_TIMEOUT_S
            # asyncio signals no "buffer drained" on a closing transport: poll it.
            while _unsent(transport) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        finally:
            if transport is not None and (_unsent(transport) or not transport.is_closing()):
                transport.abort()

    async def serve(self, request: web.Request, hello: dict[str, Any]) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, writer_limit=WRITE_BUFFER_BYTES)
        await ws.prepare(request)
        _bound_send_buffer(request)
        self.bind(asyncio.get_running_loop())
        sub = _Subscriber(request, ws, request.get(STREAM_TOKEN))
        await ws.send_str(dumps({"type": "hello", "time": datetime.now(tz=UTC), "data": hello}))
        self._subscribers.add(sub)
        sub.writer = asyncio.create_task(self._write(sub))
        try:
            async for msg in ws:  # clients only send pings/close; anything else is ignored
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._subscribers.discard(sub)
            sub.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sub.writer
        return ws

    async def _write(self, sub: _Subscriber) -> None:
        while True:
            while not sub.pending:
                sub.ready.clear()
                await sub.ready.wait()
            queued_at, message = sub.pending.popleft()
            if sub.ws.closed:
                return
            sub.sending_since = queued_at
            try:
                await sub.ws.send_str(message)
            except (ConnectionError, RuntimeError):
                self._subscribers.discard(sub)
                return
            sub.sending_since = None

    async def close_all(self) -> None:
        for sub in list(self._subscribers):
            with contextlib.suppress(Exception):
                await sub.ws.close(code=WSCloseCode.GOING_AWAY, message=b"service stopping")
        self._subscribers.clear()
        closing = list(self._closing)
        for task in closing:
            task.cancel()  # stopping: no more waiting for slow readers
        await asyncio.gather(*closing, return_exceptions=True)


def _unsent(transport: asyncio.BaseTransport | None) -> bool:
    return isinstance(transport, asyncio.WriteTransport) and transport.get_write_buffer_size() > 0


def _bound_send_buffer(request: web.Request) -> None:
    """Fixed, small kernel and transport buffers for a stream socket (see SEND_BUFFER_BYTES)."""
    transport = request.transport
    if transport is None:
        return
    transport.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
