"""Everything the API handlers use, gathered in one typed object stored on the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


CONTEXT: web.AppKey[ApiContext] = web.AppKey("shems_api_context", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]


def site_port(request: web.Request) -> SitePort:
    port = context_of(request).site
    if port is None:
        raise unavailable("site configuration", "no site store is configured")
    return port


def plan_port(request: web.Request) -> PlanPort:
    port = context_of(request).plan
    if port is None:
        raise unavailable("planning", "the optimizer is not configured")
    return port


def device_port(request: web.Request) -> DevicePort:
    port = context_of(request).devices
    if port is None:
        raise unavailable("devices", "no store is configured")
    return port


def command_port(request: web.Request) -> CommandPort:
    port = context_of(request).commands
    if port is None:
        raise unavailable("device commands", "no MQTT broker or store is configured")
    return port


def analytics_port(request: web.Request) -> AnalyticsPort:
    port = context_of(request).analytics
    if port is None:
        raise unavailable("consumption analytics", "no store is configured")
    return port


def prediction_port(request: web.Request) -> PredictionPort:
    port = context_of(request).predictions
    if port is None:
        raise unavailable("predictions", "no forecaster is configured")
    return port


def schedule_port(request: web.Request) -> SchedulePort:
    port = context_of(request).schedules
    if port is None:
        raise unavailable("schedules", "no store is configured")
    return port
