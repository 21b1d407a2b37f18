"""Plans as retained MQTT topics, for devices and automations that read MQTT directly.

On every new plan: ``<prefix>/plan/summary`` (id, times, costs, appliance starts, unmet goals) and one
``<prefix>/plan/assets/<asset id>`` per asset with its per-step power (W) and SOC/temperature. Retained,
QoS 1, so a device that connects later gets the plan in force at once. Assets that disappeared from
the plan have their retained topic cleared (empty retained message).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shems_optimizer.runtime.jsonio import dumps

from .mqtt_link import MqttLink

_LOGGER = logging.getLogger(__name__)


def asset_documents(plan: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per asset id: its step series taken from the plan document."""
    assets: dict[str, dict[str, Any]] = {}
    for step in plan.get("steps", []):
        for asset_id, values in step.get("assets", {}).items():
            doc = assets.setdefault(
                asset_id, {"plan_id": plan.get("id"), "created_at": plan.get("created_at"), "steps": []}
            )
            doc["steps"].append({"start": step["start"], "end": step["end"], **values})
    return assets


def summary_document(plan: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: plan.get(key)
        for key in (
            "id",
            "created_at",
            "status",
            "currency",
            "horizon_start",
            "horizon_end",
            "cost_next_24h",
            "baseline_cost",
            "savings",
            "appliances",
            "evs",
            "unmet_goals",
        )
    }


class PlanPublisher:
    def __init__(self, link: MqttLink, prefix: str = "shems") -> None:
        self._link = link
        self._prefix = prefix
        self._published_assets: set[str] = set()

    def topic(self, asset_id: str) -> str:
        return f"{self._prefix}/plan/assets/{asset_id}"

    def publish(self, plan: Mapping[str, Any]) -> None:
        """Publish a new plan (called in the event loop; paho queues while disconnected)."""
        assets = asset_documents(plan)
        self._link.publish(f"{self._prefix}/plan/summary", dumps(summary_document(plan)), qos=1, retain=True)
        for asset_id, doc in assets.items():
            self._link.publish(self.topic(asset_id), dumps(doc), qos=1, retain=True)
        for gone in self._published_assets - set(assets):
            self._link.publish(self.topic(gone), b"", qos=1, retain=True)
        self._published_assets = set(assets)
        _LOGGER.info("plan published on MQTT", extra={"plan_id": plan.get("id"), "assets": len(assets)})
