"""Parts of the site document (``PUT /api/v1/site``) that many tests put: a battery and a time-of-use
tariff, each given only by what sets it apart."""

from __future__ import annotations

from typing import Any


def battery(**fields: Any) -> dict[str, Any]:
    """A site's battery: ``bat``, 10 kWh, 3 kW in and out, and whatever else ``fields`` say."""
    return {
        "id": "bat",
        "name": "Battery",
        "capacity_kwh": 10,
        "max_charge_w": 3000,
        "max_discharge_w": 3000,
        **fields,
    }


def tou(*periods: tuple[str, float], **fields: Any) -> dict[str, Any]:
    """A time-of-use tariff: each period from its start (``HH:MM``) at its import price per kWh, until the
    next one begins; ``fields`` add to it (e.g. ``export_per_kwh``)."""
    return {
        "kind": "tou",
        **fields,
        "periods": [{"start": start, "import_per_kwh": price} for start, price in periods],
    }
