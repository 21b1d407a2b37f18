"""API v1 endpoints, one module per resource; :func:`all_routes` lists every one of them."""

from __future__ import annotations

from ..spec import RouteSpec


def all_routes() -> list[RouteSpec]:
    from . import analytics, devices, execution, plan, predictions, schedules, site, stream, system

    specs: list[RouteSpec] = []
    for module in (system, site, plan, execution, devices, analytics, predictions, schedules, stream):
        specs.extend(module.routes())
    return specs
