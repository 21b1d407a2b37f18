"""Request pipeline: correlation id, JSON errors and request log; then rate limit; then auth."""

from __future__ import annotations

import logging
import re
import time

from aiohttp import web

from shems_optimizer.api.responses import json_response
from shems_optimizer.app.records.models import StoreUnavailableError
from shems_optimizer.runtime.logs import new_correlation_id, reset_correlation_id, set_correlation_id

from .auth import bearer_token
from .context import context_of
from .errors import ApiError, error_body, error_response
from .ratelimit import retry_after_header
from .spec import API_PREFIX, SPEC, Handler
from .stream import STREAM_TOKEN

_LOGGER = logging.getLogger("shems_optimizer.api")
_CID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
CORRELATION_HEADER = "X-Correlation-ID"
STREAM_PATH = API_PREFIX + "/stream"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request a correlation id, turn every failure into JSON, and log one line."""
    offered = request.headers.get(CORRELATION_HEADER, "")
    cid = offered if _CID.match(offered) else new_correlation_id()
    token = set_correlation_id(cid)
    started = time.perf_counter()
    status = 500
    try:
        try:
            response = await handler(request)
        except ApiError as err:
            response = error_response(err)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = json_response(
                error_body(exc.reason.lower().replace(" ", "_"), exc.reason), status=exc.status
            )
            if exc.status == 405 and "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
        except StoreUnavailableError as err:
            _LOGGER.warning("store unavailable", extra={"path": request.path, "error": str(err)})
            response = json_response(
                error_body("store_unavailable", f"the database cannot be reached right now: {err}"),
                status=503,
                headers={"Retry-After": "10"},
            )
        except Exception:
            _LOGGER.exception("unhandled error in %s %s", request.method, request.path)
            response = json_response(
                error_body("internal_error", "internal error; the log has details under this correlation id"),
                status=500,
            )
        status = response.status
        if not response.prepared:
            response.headers[CORRELATION_HEADER] = cid
        return response
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        level = logging.DEBUG if request.method == "GET" and status < 400 else logging.INFO
        # 503 is a deliberate answer (not ready, store unavailable: each says why, and the store's
        # outage has its own warning); only real server errors are logged as errors.
        if status >= 500 and status != 503:
            level = logging.ERROR
        if _LOGGER.isEnabledFor(level):
            _LOGGER.log(
                level,
                "%s %s -> %d",
                request.method,
                request.path,
                status,
                extra={"status": status, "duration_ms": round(elapsed_ms, 2), "peer": request.remote},
            )
        reset_correlation_id(token)


def client_key(request: web.Request, trusted: bool | None = None) -> str:
    """Who a request counts against: the ingress user, or the peer address."""
    remote = request.remote
    if trusted is None:
        trusted = context_of(request).peers.is_trusted(remote)
    if trusted:
        return "ingress:" + request.headers.get("X-Remote-User-Id", "")
    return "peer:" + (remote or "?")


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Rate limit every API request, then require a token unless public or from the ingress proxy.

    Requests with a valid token (and the ingress proxy's) count against the token's budget; all
    others against their address's smaller anonymous budget, so a flood of anonymous or wrong-token
    requests from one address cannot lock out the house's own integration on that address.
    """
    if not request.path.startswith("/api/"):
        return await handler(request)  # the UI's static files hold no data
    ctx = context_of(request)
    trusted = ctx.peers.is_trusted(request.remote)  # once per request: the limit and auth both ask
    presented = bearer_token(request.headers.get("Authorization"))
    if presented is None and request.path == STREAM_PATH:
        # Browsers cannot set headers on a WebSocket; the stream also accepts ?access_token=.
        presented = request.query.get("access_token") or None
    valid = presented is not None and ctx.tokens.matches(presented)
    _rate_limit(request, trusted, valid)
    if request.match_info.http_exception is not None:
        return await handler(request)  # no such path or method: 404 / 405, which reveal nothing
    route = request.match_info.route
    spec = getattr(route.handler, SPEC, None)
    if trusted:
        request[STREAM_TOKEN] = None  # trusted whatever the token
        return await handler(request)
    if valid:
        request[STREAM_TOKEN] = presented
        return await handler(request)
    if spec is not None and spec.public:
        return await handler(request)
    if presented is None:
        raise ApiError(
            401, "unauthorized", "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    raise ApiError(
        401, "unauthorized", "the bearer token is not valid", headers={"WWW-Authenticate": "Bearer"}
    )


def _rate_limit(request: web.Request, trusted: bool, valid_token: bool) -> None:
    ctx = context_of(request)
    if trusted:
        limiter, key, who = ctx.limiter, client_key(request, True), "from this Home Assistant user"
    elif valid_token:
        # One API token: every holder shares its budget, whatever its address.
        limiter, key, who = ctx.limiter, "token", "with this token"
    else:
        limiter = ctx.anonymous_limiter or ctx.limiter
        key, who = "anonymous:" + (request.remote or "?"), "without a valid token from this address"
    if limiter is None:
        return
    wait = limiter.check(key)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {limiter.per_minute} requests per minute {who}",
            headers={"Retry-After": retry_after_header(wait)},
        )
