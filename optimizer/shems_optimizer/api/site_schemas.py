"""The site schemas as JSON Schema, generated from the voluptuous schemas that validate them.

* :func:`scenario_site_schema` — the CLI's site file (``core.model.loading.SITE``), committed as
  ``docs/scenario-site.schema.json``; regenerate with ``scripts/dev run shems-optimizer schema --write``
  (the test suite fails while the committed file differs).
* :func:`site_document_schema` — the add-on's site document (``app.site.site_document.SITE``), the
  ``/site`` body and answer in the OpenAPI document.

Each is one call of :func:`~shems_optimizer.api.schema_doc.to_json_schema`; the descriptions,
defaults and ranges live beside the validators.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shems_optimizer.app.site import site_document
from shems_optimizer.core.model import loading

from .schema_doc import to_json_schema

SCENARIO_SCHEMA_PATH = Path("docs") / "scenario-site.schema.json"


def scenario_site_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/shems-project/shems/docs/scenario-site.schema.json",
        "title": "SHEMS site (scenario) file",
        "description": "A home for `shems-optimizer optimize SITE --series CSV`. YAML or JSON. Units are in "
        "the field names: kW, kWh, EUR/kWh (in the site's currency), °C; SOC is a fraction 0..1. See "
        "docs/scenario-format.md. Generated from the loader's schema (shems-optimizer schema --write).",
        **to_json_schema(loading.SITE),
    }


def site_document_schema() -> dict[str, Any]:
    return {
        **to_json_schema(site_document.SITE),
        "description": "the site document (DOCS.md, 'Site document'): location, grid, solar, price source, "
        "meters, batteries, evs, appliances, thermal_loads",
    }


def scenario_schema_text() -> str:
    return json.dumps(scenario_site_schema(), indent=2, ensure_ascii=False) + "\n"
