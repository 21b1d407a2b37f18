"""The add-on's files agree with each other and with the code: options, schema, translations, labels."""

from __future__ import annotations

import json
import re
import struct
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

from shems_optimizer.adapters.homeassistant.addon_options import OPTIONS

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


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    text = (ADDON / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_base_labels_and_entrypoint() -> None:
    instructions = _dockerfile_instructions()
    args = dict(rest.split("=", 1) for word, rest in instructions if word == "ARG" and "=" in rest)
    # build.yaml is retired: the base comes from the Dockerfile, a multi-arch Debian (glibc: PuLP's
    # CBC and the numeric wheels need it; an Alpine/musl base cannot run them).
    assert not (ADDON / "build.yaml").exists()
    assert args["BUILD_FROM"] == "ghcr.io/home-assistant/base-debian:trixie"
    assert ("FROM", "${BUILD_FROM}") in instructions
    assert args["BUILD_VERSION"] == str(_yaml(ADDON / "config.yaml")["version"])
    labels = " ".join(rest for word, rest in instructions if word == "LABEL")
    for label, value in [
        ("io.hass.name", '"SHEMS"'),
        ("io.hass.type", '"app"'),
        ("io.hass.version", '"${BUILD_VERSION}"'),
        ("io.hass.arch", '"${BUILD_ARCH}"'),
        ("io.hass.description", '"'),
    ]:
        assert f"{label}={value}" in labels, label
    assert ("ENTRYPOINT", '["/run.sh"]') in instructions
    assert _yaml(ADDON / "config.yaml")["init"] is True  # tini reaps children; run.sh is not an init


def test_every_copy_source_is_inside_the_build_context() -> None:
    """The Supervisor and the release workflow both build with addon/ as the context."""
    workflow = _workflow()
    (build_step,) = [s for s in workflow["jobs"]["build"]["steps"] if s.get("name") == "Build image"]
    assert build_step["with"]["context"] == "addon"
    copies = [rest.split() for word, rest in _dockerfile_instructions() if word in ("COPY", "ADD")]
    assert copies, "the Dockerfile copies nothing?"
    for parts in copies:
        assert not any(p.startswith("--from") for p in parts), parts  # no other context exists
        for source in parts[:-1]:
            assert (ADDON / source).exists(), f"COPY {source}: missing from the build context addon/"
            assert ADDON in (ADDON / source).resolve().parents or (ADDON / source).resolve() == ADDON


def test_engine_wheel_name_agrees_between_workflow_script_and_dockerfile() -> None:
    version = str(_yaml(ADDON / "config.yaml")["version"])
    wheel = f"shems_optimizer-{version}-py3-none-any.whl"
    dockerfile = (ADDON / "Dockerfile").read_text()
    assert "/tmp/engine/shems_optimizer-${BUILD_VERSION}-py3-none-any.whl" in dockerfile
    assert ("COPY", "engine/ /tmp/engine/") in _dockerfile_instructions()
    project = re.search(r'^name = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert project is not None and project.group(1).replace("-", "_") == wheel.split("-")[0]
    init_steps = _workflow()["jobs"]["init"]["steps"]
    wheel_step = next(s for s in init_steps if "wheel" in s.get("name", "").lower())
    assert "--wheel-dir addon/engine" in wheel_step["run"]
    assert "shems_optimizer-${{ steps.version.outputs.version }}-py3-none-any.whl" in wheel_step["run"]
    assert "--wheel-dir" in (REPO / "scripts" / "addon-context").read_text()
    assert (ADDON / "engine" / ".gitignore").read_text().strip().endswith("*.whl")


def test_wheel_carries_every_engine_data_file() -> None:
    """The image installs the wheel: files the engine reads at run time must be package data."""
    pyproject = (REPO / "pyproject.toml").read_text()
    match = re.search(r"^shems_optimizer = \[(.*)\]$", pyproject, re.M)
    assert match is not None
    patterns = re.findall(r'"([^"]+)"', match.group(1))
    package = REPO / "optimizer" / "shems_optimizer"
    covered = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    data_files = {
        path
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert data_files, "no data files found?"
    assert data_files <= covered, sorted(str(p.relative_to(package)) for p in data_files - covered)


def test_the_wheel_holds_the_engine_without_tools_or_plotting() -> None:
    """The benchmarks live in tools/, outside the packages the wheel is built from; matplotlib (the
    demo's chart only) is the plot extra, PuLP (the alternative solver path) a pinned dependency."""
    with (REPO / "pyproject.toml").open("rb") as fh:
        pyproject = tomllib.load(fh)
    found = pyproject["tool"]["setuptools"]["packages"]["find"]
    root = REPO / found["where"][0]  # what setuptools' package finder walks, with its include patterns
    every = {".".join(init.parent.relative_to(root).parts) for init in root.rglob("__init__.py")}
    packages = {name for name in every if any(fnmatch(name, pattern) for pattern in found["include"])}
    assert "shems_optimizer" in packages and "shems_optimizer.core.planner" in packages
    assert not [p for p in packages if "bench" in p], packages
    assert (REPO / "tools" / "shems_bench" / "optimizer.py").is_file()
    assert not (REPO / "optimizer" / "shems_bench").exists()
    dependencies = pyproject["project"]["dependencies"]
    assert not [d for d in dependencies if d.startswith("matplotlib")]
    assert [d for d in pyproject["project"]["optional-dependencies"]["plot"] if d.startswith("matplotlib")]
    assert [d for d in dependencies if d.startswith("pulp==")]


def test_versions_agree() -> None:
    version = str(_yaml(ADDON / "config.yaml")["version"])
    changelog = re.search(r"^## (\S+)", (ADDON / "CHANGELOG.md").read_text(), re.M)
    assert changelog is not None
    assert version == _project_version() == changelog.group(1)


def _workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((REPO / ".github" / "workflows" / "addon.yml").read_text())
    return data


def test_workflow_builds_every_arch_into_the_image_config_names() -> None:
    workflow = _workflow()
    config = _yaml(ADDON / "config.yaml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["tags"] == ["v*"] and "pull_request" in triggers
    env = workflow["env"]
    assert sorted(json.loads(env["ARCHITECTURES"])) == sorted(config["arch"])
    assert config["image"] == f"{env['REGISTRY_PREFIX']}/{{arch}}-{env['IMAGE_NAME']}"
    (matrix_step,) = [s for s in workflow["jobs"]["init"]["steps"] if s.get("id") == "matrix"]
    assert matrix_step["uses"].startswith("home-assistant/builder/actions/prepare-multi-arch-matrix@")
    assert matrix_step["with"]["registry-prefix"] == "${{ env.REGISTRY_PREFIX }}"
    build = workflow["jobs"]["build"]
    assert build["strategy"]["matrix"] == "${{ fromJSON(needs.init.outputs.matrix) }}"
    (build_step,) = [s for s in build["steps"] if s.get("name") == "Build image"]
    assert build_step["uses"].startswith("home-assistant/builder/actions/build-image@")
    tags = [t.strip() for t in build_step["with"]["image-tags"].splitlines()]
    assert "${{ needs.init.outputs.version }}" in tags  # the Supervisor pulls <image>:<version>
    assert workflow["jobs"]["manifest"]["if"] == "needs.init.outputs.publish == 'true'"
    checks = next(s for s in workflow["jobs"]["init"]["steps"] if s.get("id") == "version")["run"]
    for word in ("addon/config.yaml", "pyproject.toml", "addon/CHANGELOG.md", "REF_NAME"):
        assert word in checks


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
