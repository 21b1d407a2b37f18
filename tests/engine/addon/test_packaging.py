"""The add-on's files agree with each other and with the code: options, schema, translations, labels."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import yaml

from shems_optimizer.service.addon_options import OPTIONS

REPO = Path(__file__).resolve().parents[3]
ADDON = REPO / "addon"


def _yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_config_yaml_options_schema_and_code_agree() -> None:
    config = _yaml(ADDON / "config.yaml")
    for key in ("name", "version", "slug", "description", "arch", "options", "schema"):
        assert key in config
    assert config["ingress"] is True and config["ingress_port"] == 8099
    assert config["homeassistant_api"] is True
    assert "mqtt:want" in config["services"]
    assert config["discovery"] == ["shems"]
    assert set(config["options"]) == set(config["schema"])
    code_keys = {str(k.schema) for k in OPTIONS.schema}
    assert set(config["schema"]) == code_keys
    assert OPTIONS(config["options"])["storage"] == "embedded"  # the defaults pass the code's schema
    assert str(config["version"]) == _project_version()


def _project_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert match is not None
    return match.group(1)


def test_translations_cover_every_option() -> None:
    config = _yaml(ADDON / "config.yaml")
    translations = _yaml(ADDON / "translations" / "en.yaml")
    assert set(translations["configuration"]) == set(config["schema"])
    for key, entry in translations["configuration"].items():
        assert entry["name"] and entry["description"], key


def test_dockerfile_debian_base_and_labels() -> None:
    dockerfile = (ADDON / "Dockerfile").read_text()
    build = _yaml(ADDON / "build.yaml")
    assert all("base-debian" in image for image in build["build_from"].values())
    assert set(build["build_from"]) == set(_yaml(ADDON / "config.yaml")["arch"])
    for label in ("io.hass.name", "io.hass.description", "io.hass.type", "io.hass.version", "io.hass.arch"):
        assert f"{label}=" in dockerfile
    assert 'CMD ["/run.sh"]' in dockerfile


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_repository_and_images() -> None:
    repository = _yaml(REPO / "repository.yaml")
    assert repository["name"] and repository["url"]
    assert _png_size(ADDON / "icon.png") == (128, 128)
    assert _png_size(ADDON / "logo.png") == (250, 100)
    for doc in ("DOCS.md", "CHANGELOG.md"):
        assert (ADDON / doc).stat().st_size > 200
