"""The documented JSON Schema of the site file lists exactly the settings the loader accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol

from shems_optimizer.core.model import loading

SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "scenario-site.schema.json").read_text())


def keys(schema: vol.Schema) -> set[str]:
    return {str(k) for k in schema.schema}


def documented(node: dict[str, Any]) -> set[str]:
    return set(node["properties"])


@pytest.mark.parametrize(
    ("name", "validator", "node"),
    [
        ("site", loading.SITE, SCHEMA),
        ("grid", loading.GRID, SCHEMA["properties"]["grid"]),
        ("battery", loading.BATTERY, SCHEMA["properties"]["batteries"]["items"]),
        ("ev", loading.EV, SCHEMA["properties"]["evs"]["items"]),
        (
            "profile appliance",
            loading.PROFILE_APPLIANCE,
            SCHEMA["properties"]["appliances"]["items"]["oneOf"][0],
        ),
        (
            "energy appliance",
            loading.ENERGY_APPLIANCE,
            SCHEMA["properties"]["appliances"]["items"]["oneOf"][1],
        ),
        ("thermal", loading.THERMAL, SCHEMA["properties"]["thermal"]["items"]),
        ("horizon", loading.HORIZON, SCHEMA["properties"]["horizon"]),
    ],
)
def test_schema_matches_loader(name: str, validator: vol.Schema, node: dict[str, Any]) -> None:
    assert documented(node) == keys(validator), name
    required = {str(k) for k in validator.schema if isinstance(k, vol.Required)}
    assert set(node.get("required", [])) == required, name
