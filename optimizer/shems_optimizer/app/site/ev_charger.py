"""An EV charger's power range from its electrics, and whether a car is plugged in.

Why one place: a wallbox is set in whole amperes between a minimum (6 A for most cars) and a maximum,
on one or three phases. The plan must only ask for powers the charger can deliver, or a blueprint that
turns the plan's watts back into amperes rounds below the minimum and stops charging. The power range
is ``phases × voltage × current`` between the minimum and maximum current (and within ``min_charge_w``
/ ``max_charge_w`` where those are given too).

The plug state comes from its own entity (a plug binary sensor or a wallbox integration's status
sensor), never from the charger switch: a switch turned off by the plan would otherwise read as "car
gone" and the next plan would not charge at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DEFAULT_VOLTAGE_V = 230.0

# States of plug binary sensors and of wallbox status sensors, lower-cased with every run of
# non-alphanumerics turned into "_": Wallbox ("Charging", "Locked, car connected"), go-eCharger
# ("vehicle loads", "wait_car", "complete"), OCPP connector status ("Preparing", "SuspendedEV"),
# Easee ("awaiting_start", "ready_to_charge"), Zaptec ("connected_charging").
PLUGGED_STATES = frozenset(
    {
        "on",
        "true",
        "home",
        "plugged",
        "plugged_in",
        "connected",
        "charging",
        "discharging",
        "paused",
        "scheduled",
        "waiting",
        "waiting_for_car_demand",
        "locked_car_connected",
        "waiting_in_queue_by_power_boost",
        "waiting_in_queue_by_power_sharing",
        "waiting_in_queue_by_eco_smart",
        "waiting_mid_failed",
        "waiting_mid_safety_margin_exceeded",
        "vehicle_loads",
        "waiting_for_vehicle",
        "charge_finished_vehicle_still_connected",
        "wait_car",
        "complete",
        "finished",
        "preparing",
        "suspendedevse",
        "suspendedev",
        "suspended_evse",
        "suspended_ev",
        "finishing",
        "awaiting_start",
        "awaiting_authorization",
        "completed",
        "ready_to_charge",
        "de_authorizing",
        "connected_requesting",
        "connected_charging",
        "connected_finished",
    }
)
UNPLUGGED_STATES = frozenset(
    {
        "off",
        "false",
        "not_home",
        "unplugged",
        "disconnected",
        "not_connected",
        "ready",
        "locked",
        "available",
        "idle",
        "standby",
        "charger_ready_no_vehicle",
        "no_vehicle",
        "offline",
    }
)


def plugged_from_state(state: Any) -> bool | None:
    """True/False for a state that says the car is (not) plugged in; None when it says neither
    (unknown, unavailable, an error state, a wording not listed above)."""
    word = re.sub(r"[^a-z0-9]+", "_", str(state).strip().lower()).strip("_")
    if word in PLUGGED_STATES:
        return True
    if word in UNPLUGGED_STATES:
        return False
    return None


def watts_per_amp(ev: Mapping[str, Any]) -> float | None:
    """phases × voltage, or None when the document gives no phases."""
    phases = ev.get("phases")
    if not phases:
        return None
    return float(phases) * float(ev.get("voltage_v") or DEFAULT_VOLTAGE_V)


def charger_range_w(ev: Mapping[str, Any]) -> tuple[float, float | None]:
    """(minimum, maximum) charging power in W the plan may use; the maximum is None when neither
    ``max_charge_w`` nor phases with ``max_current_a`` are given."""
    low = float(ev.get("min_charge_w") or 0.0)
    high = None if ev.get("max_charge_w") is None else float(ev["max_charge_w"])
    per_amp = watts_per_amp(ev)
    if per_amp is not None:
        if ev.get("min_current_a") is not None:
            low = max(low, per_amp * float(ev["min_current_a"]))
        if ev.get("max_current_a") is not None:
            by_current = per_amp * float(ev["max_current_a"])
            high = by_current if high is None else min(high, by_current)
    return low, high
