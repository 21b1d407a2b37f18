"""docs/scenario-site.schema.json is generated from the loader's schema and committed current.

Regenerate with ``scripts/dev run shems-optimizer schema --write``. The generated schema also accepts
the bundled site files and refuses what the loader refuses by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from shems_optimizer.api.site_schemas import SCENARIO_SCHEMA_PATH, scenario_schema_text, site_document_schema
from shems_optimizer.cli import main
from shems_optimizer.core.model import loading

ROOT = Path(__file__).parents[3]
COMMITTED = ROOT / SCENARIO_SCHEMA_PATH


def test_the_committed_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == scenario_schema_text(), (
        "docs/scenario-site.schema.json is out of date: run scripts/dev run shems-optimizer schema --write"
    )
    assert main(["schema", "--check", "--repo", str(ROOT)]) == 0


def test_check_and_write_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / SCENARIO_SCHEMA_PATH).write_text("{}\n", encoding="utf-8")
    assert main(["schema", "--check", "--repo", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["schema", "--write", "--repo", str(tmp_path)]) == 0
    assert main(["schema", "--check", "--repo", str(tmp_path)]) == 0


def _properties(node: dict[str, Any]) -> set[str]:
    return set(node["properties"])


def test_every_setting_the_loader_reads_is_documented() -> None:
    schema = json.loads(scenario_schema_text())
    props = schema["properties"]
    assert _properties(schema) == {str(k) for k in loading.SITE.schema}
    assert _properties(props["batteries"]["items"]) == {str(k) for k in loading.BATTERY.schema}
    profile, energy = props["appliances"]["items"]["oneOf"]
    assert _properties(profile) == {str(k) for k in loading.PROFILE_APPLIANCE.schema}
    assert _properties(energy) == {str(k) for k in loading.ENERGY_APPLIANCE.schema}
    battery = props["batteries"]["items"]
    assert battery["required"] == ["name", "capacity_kwh", "max_charge_kw", "max_discharge_kw", "initial_soc"]
    assert battery["additionalProperties"] is False
    assert battery["properties"]["soc_min"] == {
        "type": "number",
        "description": "lowest SOC",
        "minimum": 0,
        "maximum": 1,
        "default": 0.1,
    }
    assert props["grid"]["properties"]["tariff"]["properties"]["periods"]["minItems"] == 1


def test_the_schema_accepts_the_bundled_sites() -> None:
    schema = json.loads(scenario_schema_text())
    validator = jsonschema_rs.validator_for(schema)
    data = ROOT / "optimizer" / "shems_optimizer" / "data"
    sites = [p for p in data.rglob("*.yaml") if p.name.startswith(("site", "scenario"))]
    assert sites
    for path in sites:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        document.pop("backtest", None)
        assert validator.is_valid(document), (path, [e.message for e in validator.iter_errors(document)])
    # ... and refuses what the loader refuses: an unknown key, a negative capacity.
    assert not validator.is_valid({"nmae": "x"})
    assert not validator.is_valid({"batteries": [{"name": "b", "capacity_kwh": -1}]})


def test_the_openapi_site_is_the_site_documents_schema() -> None:
    site = site_document_schema()
    assert set(site["properties"]) >= {"price", "batteries", "evs", "country", "location"}
    tou = site["properties"]["price"]["oneOf"][2]
    assert set(tou["properties"]) == {"kind", "export_per_kwh", "periods", "seasons"}
    assert site["additionalProperties"] is False
