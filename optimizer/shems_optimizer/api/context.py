"""Everything the API handlers use, gathered in one typed object stored on the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from shems_optimizer.app.ports import (
    AnalyticsPort,
    CommandPort,
    DevicePort,
    ExecutionPort,
    HealthPort,
    MetricsPort,
    PlanPort,
    PredictionPort,
    SchedulePort,
    ServiceInfo,
    SitePort,
)

from .auth import PeerPolicy, TokenStore
from .errors import unavailable
from .ratelimit import RateLimiter
from .stream import StreamHub


@dataclass(frozen=True)
class ApiContext:
    info: ServiceInfo
    tokens: TokenStore
    hub: StreamHub
    peers: PeerPolicy = field(default_factory=PeerPolicy)
    limiter: RateLimiter | None = None  # per token (and per ingress user): the house's own clients
    anonymous_limiter: RateLimiter | None = None  # per address, for requests without a valid token
    site: SitePort | None = None
    plan: PlanPort | None = None
    devices: DevicePort | None = None
    commands: CommandPort | None = None
    analytics: AnalyticsPort | None = None
    predictions: PredictionPort | None = None
    schedules: SchedulePort | None = None
    health: HealthPort | None = None
    execution: ExecutionPort | None = None
    metrics: MetricsPort | None = None
    web_dir: Path | None = None  # the ingress UI's static files


_Port = TypeVar("_Port")

CONTEXT: web.AppKey[ApiContext] = web.AppKey("shems_api_context", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]


def _required(port: _Port | None, what: str, why: str) -> _Port:
    """The configured port, or a 503 that names the missing part and why it is missing."""
    if port is None:
        raise unavailable(what, why)
    return port


def site_port(request: web.Request) -> SitePort:
    return _required(context_of(request).site, "site configuration", "no site store is configured")


def plan_port(request: web.Request) -> PlanPort:
    return _required(context_of(request).plan, "planning", "the optimizer is not configured")


def device_port(request: web.Request) -> DevicePort:
    return _required(context_of(request).devices, "devices", "no store is configured")


def command_port(request: web.Request) -> CommandPort:
    return _required(context_of(request).commands, "device commands", "no MQTT broker or store is configured")


def analytics_port(request: web.Request) -> AnalyticsPort:
    return _required(context_of(request).analytics, "consumption analytics", "no store is configured")


def prediction_port(request: web.Request) -> PredictionPort:
    return _required(context_of(request).predictions, "predictions", "no forecaster is configured")


def schedule_port(request: web.Request) -> SchedulePort:
    return _required(context_of(request).schedules, "schedules", "no store is configured")
