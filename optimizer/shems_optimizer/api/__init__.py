"""The add-on's REST API v1 and WebSocket stream (aiohttp).

:func:`create_app` builds the application around an :class:`ApiContext`; the service process
(:mod:`shems_optimizer.wiring`) wires the real store, optimizer and dispatch into that context.
"""

from .app import create_app
from .context import ApiContext

__all__ = ["ApiContext", "create_app"]
