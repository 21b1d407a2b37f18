"""A stand-in for Home Assistant's ingress proxy: /api/hassio_ingress/<token>/… forwarded to the add-on's
/…, as the Supervisor does, connecting from ``source_ip`` (the address the add-on trusts as ingress)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

INGRESS = "/api/hassio_ingress/Xk3Tq9bLmNcZ"
KEPT_HEADERS = ("content-type", "cache-control", "content-encoding", "last-modified", "etag")


@asynccontextmanager
async def ingress_proxy(target: str, source_ip: str = "127.0.0.1") -> AsyncIterator[str]:
    """Yield the panel's URL (``http://127.0.0.1:PORT/api/hassio_ingress/…/``)."""
    connector = aiohttp.TCPConnector(local_addr=(source_ip, 0))
    session = aiohttp.ClientSession(auto_decompress=False, connector=connector)

    async def forward(request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        headers["X-Ingress-Path"] = INGRESS
        async with session.request(
            request.method,
            f"{target}/{tail}",
            params=request.query,
            headers=headers,
            data=await request.read(),
        ) as upstream:
            body = await upstream.read()
            keep = {k: v for k, v in upstream.headers.items() if k.lower() in KEPT_HEADERS}
            return web.Response(status=upstream.status, body=body, headers=keep)

    app = web.Application()
    app.router.add_route("*", INGRESS + "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{INGRESS}/"
    finally:
        await runner.cleanup()
        await session.close()
