"""A stand-in for the Supervisor's ingress proxy in front of the plain add-on process.

The Supervisor serves an add-on's UI under ``/api/hassio_ingress/<session token>/`` and the add-on trusts
it by its address (172.30.32.2), which a test on loopback cannot have; against an add-on process that
trusts no address, this proxy presents the add-on's API token instead. The page sees exactly the ingress
path either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

INGRESS_PATH = "/api/hassio_ingress/q7RkVt2LmW9xNc4Bz"
HOP_HEADERS = ("host", "content-length", "transfer-encoding", "connection")
KEPT_HEADERS = ("content-type", "cache-control", "content-encoding", "last-modified", "etag")


@asynccontextmanager
async def ingress_proxy(
    target: str, token: str | None = None, source_ip: str | None = None
) -> AsyncIterator[str]:
    """Yield the proxied UI's URL (ending in ``/``) while the proxy runs; with ``token``, every request
    carries it (for an add-on that trusts no peer address); with ``source_ip`` (a loopback address such
    as 127.0.0.2), the proxy connects from there, for an add-on that trusts that address as ingress."""
    connector = aiohttp.TCPConnector(local_addr=(source_ip, 0)) if source_ip else None
    session = aiohttp.ClientSession(auto_decompress=False, connector=connector)

    async def forward(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        headers["X-Ingress-Path"] = INGRESS_PATH
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with session.request(
            request.method,
            f"{target}/{request.match_info['tail']}",
            params=request.query,
            headers=headers,
            data=await request.read(),
        ) as upstream:
            body = await upstream.read()
            kept = {k: v for k, v in upstream.headers.items() if k.lower() in KEPT_HEADERS}
            return web.Response(status=upstream.status, body=body, headers=kept)

    app = web.Application()
    app.router.add_route("*", INGRESS_PATH + "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}{INGRESS_PATH}/"
    finally:
        await runner.cleanup()
        await session.close()
