"""The files HA and HACS read without running code: translations, services.yaml, icons, quality scale."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import yaml

from custom_components.shems.services import HANDLERS

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "custom_components" / "shems"
STRINGS = json.loads((COMPONENT / "strings.json").read_text())
COMMON = {
    "common::config_flow::error::cannot_connect": "Failed to connect",
    "common::config_flow::error::invalid_auth": "Invalid authentication",
    "common::config_flow::abort::already_configured_service": "Service is already configured",
    "common::config_flow::abort::reauth_successful": "Re-authentication was successful",
    "common::config_flow::abort::reconfigure_successful": "Re-configuration was successful",
}


def resolved(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: resolved(item) for key, item in value.items()}
    if isinstance(value, str):
        return re.sub(r"\[%key:([^%]+)%\]", lambda m: COMMON[m.group(1)], value)
    return value


def leaves(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out |= leaves(item, f"{prefix}.{key}" if prefix else key)
        return out
    return {prefix: value}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_translation_is_strings_json_resolved() -> None:
    english = json.loads((COMPONENT / "translations" / "en.json").read_text())
    assert english == resolved(STRINGS)


def test_german_translation_is_complete_with_the_same_placeholders() -> None:
    english = leaves(json.loads((COMPONENT / "translations" / "en.json").read_text()))
    german = leaves(json.loads((COMPONENT / "translations" / "de.json").read_text()))
    assert german.keys() == english.keys()
    for key, text in english.items():
        assert placeholders(german[key]) == placeholders(text), key


def source_keys(pattern: str) -> set[str]:
    found: set[str] = set()
    for path in COMPONENT.glob("*.py"):
        found |= set(re.findall(pattern, path.read_text()))
    return found


def test_every_exception_and_issue_key_is_translated() -> None:
    keys = source_keys(r'translation_key="([a-z_]+)"')
    exceptions = set(STRINGS["exceptions"])
    issues = set(STRINGS["issues"])
    entity_keys = {key for platform in STRINGS["entity"].values() for key in platform}
    selector_keys = set(STRINGS["selector"])
    unknown = {key for key in keys if key not in exceptions | issues | entity_keys | selector_keys}
    assert not unknown


def test_every_form_error_is_translated() -> None:
    errors = source_keys(r'errors\[[A-Za-z_."\[\]]+\] = "([a-z_]+)"') | source_keys(
        r'\{"base": "([a-z_]+)"\}'
    )
    errors |= {"not_energy_sensor", "not_power_sensor", "entity_not_found"}
    config_errors = set(STRINGS["config"]["error"])
    subentry_errors = set.intersection(*(set(sub["error"]) for sub in STRINGS["config_subentries"].values()))
    assert errors <= config_errors | subentry_errors
    for reason in source_keys(r'reason="([a-z_]+)"') | {"invalid_auth", "cannot_connect", "invalid_response"}:
        assert reason in STRINGS["config"]["abort"], reason


def test_services_yaml_matches_registrations_and_strings() -> None:
    described = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    assert set(described) == set(HANDLERS) == set(STRINGS["services"])
    for name, spec in described.items():
        assert set(spec.get("fields", {})) == set(STRINGS["services"][name]["fields"]), name


def test_icons_cover_the_entities_and_services() -> None:
    icons = json.loads((COMPONENT / "icons.json").read_text())
    assert set(icons["services"]) == set(HANDLERS)
    for platform, keys in icons["entity"].items():
        assert set(keys) <= set(STRINGS["entity"][platform]), platform


def test_quality_scale_lists_every_rule_with_an_honest_status() -> None:
    scale = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())["rules"]
    assert len(scale) == 52
    for rule, value in scale.items():
        state = value if isinstance(value, str) else value["status"]
        assert state in ("done", "todo", "exempt"), rule
        if state != "done":
            assert isinstance(value, dict) and value.get("comment"), f"{rule}: say why it is {state}"


def test_brand_icon_is_a_square_png() -> None:
    data = (COMPONENT / "brand" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == height == 256
