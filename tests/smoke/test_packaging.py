"""Static checks of what HACS and Home Assistant read before any code runs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as ha_version

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "custom_components" / "shems" / "manifest.json"
REQUIRED_KEYS = {"domain", "name", "codeowners", "config_flow", "documentation", "iot_class"}
REQUIRED_KEYS |= {"issue_tracker", "requirements", "version"}


def test_manifest_is_valid_for_a_custom_integration() -> None:
    manifest = json.loads(MANIFEST.read_text())
    keys = list(manifest)
    # hassfest: domain, then name, then the rest in alphabetical order.
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert set(manifest) >= REQUIRED_KEYS
    assert manifest["domain"] == "shems"
    assert manifest["iot_class"] == "local_push"
    assert AwesomeVersion(manifest["version"]).valid


def test_versions_agree() -> None:
    manifest = json.loads(MANIFEST.read_text())
    with (ROOT / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    assert manifest["version"] == project["version"]


def test_hacs_minimum_version_is_one_we_test_on() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"]
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(ha_version)
