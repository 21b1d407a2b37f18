"""The README's entity and service tables say exactly what the code creates and registers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from homeassistant.helpers.entity import EntityDescription

from custom_components.shems import binary_sensor, button, meter_sensors, number, select, sensor, switch, time
from custom_components.shems.const import SUBENTRY_APPLIANCE, SUBENTRY_BATTERY, SUBENTRY_EV, SUBENTRY_THERMAL
from custom_components.shems.services import HANDLERS

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "custom_components" / "shems"
NAMES = json.loads((COMPONENT / "strings.json").read_text())["entity"]
ASSET_LABELS = {
    SUBENTRY_BATTERY: "each battery",
    SUBENTRY_EV: "each EV",
    SUBENTRY_APPLIANCE: "each appliance",
    SUBENTRY_THERMAL: "each thermal load",
}


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def table_rows(section: str, header: str) -> list[list[str]]:
    """Cells of the table whose header row starts with ``| header |``."""
    lines = section.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def without_note(text: str) -> str:
    """'SHEMS (hub)' → 'SHEMS'; 'number (%)' → 'number'."""
    return re.sub(r"\s*\(.*\)$", "", text).strip()


def documented_entities() -> set[tuple[str, str, str]]:
    """(device, platform, English name) for every entity the README lists."""
    found: set[tuple[str, str, str]] = set()
    for device, names, kinds, *_ in table_rows(readme_section("Entities and services"), "device"):
        name_list = [name.strip() for name in names.split(" / ")]
        kind_list = [without_note(kind).replace(" ", "_") for kind in kinds.split(" / ")]
        if len(kind_list) == 1:
            kind_list *= len(name_list)
        assert len(kind_list) == len(name_list), f"README row {names!r}: one type, or one per name"
        found |= {(without_note(device), kind, name) for name, kind in zip(name_list, kind_list, strict=True)}
    return found


def described(
    device: str, platform: str, descriptions: tuple[EntityDescription, ...]
) -> set[tuple[str, str, str]]:
    out = set()
    for description in descriptions:
        key = description.translation_key or f"meter_{description.key}"
        out.add((device, platform, NAMES[platform][key]["name"]))
    return out


def code_entities() -> set[tuple[str, str, str]]:
    found = described("SHEMS", "sensor", sensor.HUB_SENSORS)
    found |= described("SHEMS", "button", (button.OPTIMIZE_NOW,))
    found |= described("SHEMS", "switch", (switch.HOME_EMPTY_SWITCH,))
    found |= described("SHEMS", "binary_sensor", (binary_sensor.ADDON_PROBLEM,))
    found |= described("Grid", "sensor", sensor.GRID_SENSORS)
    found |= described("Solar", "sensor", sensor.SOLAR_SENSORS)
    for kind, descriptions in sensor.ASSET_SENSORS.items():
        found |= described(ASSET_LABELS[kind], "sensor", descriptions)
    found |= described("each battery", "select", (select.BATTERY_MODE,))
    found |= described("each EV", "time", (time.DEPARTURE,))
    found |= described("each EV", "number", (number.TARGET_SOC,))
    found |= described("each appliance", "binary_sensor", (binary_sensor.RUN_NOW,))
    found |= described("each appliance", "switch", (switch.SMART_START,))
    found |= described("each meter", "sensor", meter_sensors.METER_SENSORS)
    return found


def test_readme_lists_exactly_the_entities_of_the_code() -> None:
    documented, code = documented_entities(), code_entities()
    assert documented - code == set(), "listed in the README but not created by the code"
    assert code - documented == set(), "created by the code but missing from the README"
    # Every translated entity name is one of them (no description left out of the comparison).
    translated = {(platform, item["name"]) for platform, keys in NAMES.items() for item in keys.values()}
    assert translated == {(platform, name) for _, platform, name in code}


def test_readme_lists_exactly_the_services_and_their_fields() -> None:
    rows = table_rows(readme_section("Entities and services"), "service")
    documented = {row[0].removeprefix("`shems.").removesuffix("`"): row[1] for row in rows}
    assert set(documented) == set(HANDLERS)
    services_yaml = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    for name, fields in documented.items():
        expected = set(services_yaml[name].get("fields", {})) - {"config_entry_id"}
        assert set(re.findall(r"`([a-z_]+)`", fields)) == expected, name


def test_install_section_links_to_this_repository_in_hacs_and_the_config_flow() -> None:
    install = readme_section("Install")
    repository = yaml.safe_load((ROOT / "repository.yaml").read_text())["url"]
    owner, name = repository.removeprefix("https://github.com/").split("/")
    hacs_link = (
        "https://my.home-assistant.io/redirect/hacs_repository/"
        f"?owner={owner}&repository={name}&category=integration"
    )
    assert hacs_link in install
    assert f"Custom repositories → `{repository}`, type Integration" in install
    domain = json.loads((COMPONENT / "manifest.json").read_text())["domain"]
    assert f"https://my.home-assistant.io/redirect/config_flow_start/?domain={domain}" in install
    # The minimum Home Assistant version HACS enforces is the one the README states.
    minimum = json.loads((ROOT / "hacs.json").read_text())["homeassistant"]
    assert f"Requires Home Assistant **{minimum.removesuffix('.0')}** or newer" in install
