"""The installation docs name what the code reads: variables, flags, options, the repository link, images."""

from __future__ import annotations

import argparse
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from shems_optimizer.cli import build_parser

REPO = Path(__file__).resolve().parents[3]
ADDON = REPO / "addon"
RUN_SH = (ADDON / "run.sh").read_text()
SERVE = (REPO / "optimizer" / "shems_optimizer" / "cli" / "serve.py").read_text()
DOCS = (ADDON / "DOCS.md").read_text()
README = (REPO / "README.md").read_text()
_VARIABLE = re.compile(r"\bSHEMS_[A-Z_]+[A-Z]\b")


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = text.find("\n#", start + len(heading))
    return text[start:] if following < 0 else text[start:following]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_documented_variables_are_read_by_the_entrypoint_or_the_service() -> None:
    documented = set(_VARIABLE.findall(_section(DOCS, "## Plain container")))
    documented |= set(_VARIABLE.findall(_section(README, "### Plain container")))
    code = RUN_SH + SERVE
    assert documented, "no SHEMS_* variable documented?"
    for name in sorted(documented):
        assert name in code, f"{name} is documented but nothing reads it"


def test_every_variable_the_entrypoint_reads_is_documented() -> None:
    read = set(re.findall(r"\$\{(SHEMS_[A-Z_]+)", RUN_SH)) | set(
        re.findall(r'environ\.get\("(SHEMS_[A-Z_]+)"', SERVE)
    )
    table = _section(DOCS, "## Plain container")
    for name in sorted(read):
        assert f"`{name}`" in table, f"{name} is read by the container but not in DOCS.md"


def _serve_flags() -> set[str]:
    """The options the real command line gives `shems-optimizer serve`."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {flag for action in commands.choices["serve"]._actions for flag in action.option_strings}


def test_entrypoint_flags_exist_in_serve() -> None:
    flags = set(re.findall(r"(--[a-z][a-z-]+)", RUN_SH))
    assert {"--addon", "--mqtt-host", "--ha-url", "--rate-limit", "--solver"} <= flags
    missing = flags - _serve_flags()
    assert not missing, f"run.sh passes {sorted(missing)}, which serve does not define"


def test_every_option_is_documented() -> None:
    options = _section(DOCS, "## Options")
    for key in _yaml(ADDON / "config.yaml")["schema"]:
        assert f"`{key}`" in options, key


def test_repository_links_point_at_the_add_on_repository() -> None:
    url = _yaml(REPO / "repository.yaml")["url"]
    prefix = "https://my.home-assistant.io/redirect/supervisor_add_addon_repository/?repository_url="
    for name, text in (("DOCS.md", DOCS), ("README.md", README)):
        links = re.findall(re.escape(prefix) + r"([^)\s>]+)", text)
        assert links, f"{name} has no add-repository link"
        assert {urllib.parse.unquote(link) for link in links} == {url}, name


def test_documented_images_are_the_published_ones() -> None:
    workflow = _yaml(REPO / ".github" / "workflows" / "addon.yml")
    version = str(_yaml(ADDON / "config.yaml")["version"])
    env = workflow["env"]
    manifest = f"{env['REGISTRY_PREFIX']}/{env['IMAGE_NAME']}"
    per_arch = _yaml(ADDON / "config.yaml")["image"]
    assert sorted(json.loads(env["ARCHITECTURES"])) == sorted(_yaml(ADDON / "config.yaml")["arch"])
    for name, text in (("DOCS.md", DOCS), ("README.md", README)):
        images = set(re.findall(r"ghcr\.io/shems-project/[A-Za-z0-9{}._-]+(?::[A-Za-z0-9<>._-]+)?", text))
        assert images, name
        for image in images:
            repo, _, tag = image.partition(":")
            assert repo in (manifest, per_arch), f"{name}: {image} is not published"
            assert tag in ("", "<version>", version), f"{name}: {image} is not this version"
