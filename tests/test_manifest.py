"""The integration's metadata is what Home Assistant, hassfest and HACS expect.

The rules are hassfest's (Home Assistant core, ``script/hassfest/``) where they apply to a
custom integration, HACS's repository validation, and the brands repository's image rules
(which Home Assistant follows when it serves a custom integration's ``brand/`` folder).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_type_hints

import pytest
import yaml
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.loader import Manifest, async_get_integration
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "rlink"
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text())
STRINGS = json.loads((INTEGRATION / "strings.json").read_text())

# hassfest: translations.py and manifest.py.
TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)
QUOTED_PLACEHOLDER = re.compile(r"'{\w+}'")
URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system"}
# hassfest dependencies.py: components any integration may use without listing them.
ALWAYS_ALLOWED = {p.value for p in Platform} | {
    "alert",
    "automation",
    "conversation",
    "default_config",
    "device_automation",
    "frontend",
    "group",
    "homeassistant",
    "media_source",
    "onboarding",
    "persistent_notification",
    "person",
    "script",
    "sun",
    "system_health",
    "system_log",
    "webhook",
    "websocket_api",
    "zone",
}
# HACS: hacs.json's schema.
HACS_KEYS = {
    "name",
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "zip_release",
}


async def test_home_assistant_reads_the_manifest(
    hass: HomeAssistant, custom_integrations: None
) -> None:
    integration = await async_get_integration(hass, "rlink")
    assert integration.domain == "rlink"
    assert integration.config_flow is True
    assert integration.integration_type == "hub"
    assert integration.iot_class == "local_push"
    assert integration.version is not None
    assert integration.documentation == MANIFEST["documentation"]
    assert any(req.startswith("paho-mqtt") for req in integration.requirements)
    # The device server is the integration's own: no broker package in users' installs.
    assert not any(req.startswith("amqtt") for req in integration.requirements)


def test_manifest_follows_hassfest() -> None:
    allowed = set(get_type_hints(Manifest))
    assert set(MANIFEST) <= allowed, set(MANIFEST) - allowed
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "keys after domain and name go in alphabetical order"
    assert MANIFEST["domain"] == INTEGRATION.name
    for key in ("documentation", "issue_tracker"):
        assert MANIFEST[key].startswith("https://"), key
    assert not MANIFEST["documentation"].startswith("https://www.home-assistant.io/integrations")
    assert MANIFEST["codeowners"], "HACS and hassfest want code owners"
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    version = AwesomeVersion(MANIFEST["version"])
    assert version.strategy is not AwesomeVersionStrategy.UNKNOWN
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert MANIFEST["integration_type"] in INTEGRATION_TYPES


def _used_components() -> Iterator[tuple[Path, str]]:
    """Every `homeassistant.components.X` the code imports outside `if TYPE_CHECKING:`."""
    for path in INTEGRATION.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        skipped: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "homeassistant.components":
                    modules = [f"homeassistant.components.{a.name}" for a in node.names]
                else:
                    modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[:2] == ["homeassistant", "components"] and len(parts) > 2:
                    yield path, parts[2]


def test_every_used_component_is_a_dependency() -> None:
    listed = set(MANIFEST.get("dependencies", [])) | set(MANIFEST.get("after_dependencies", []))
    own_platforms = {p.stem for p in INTEGRATION.glob("*.py")}
    missing = {
        f"{path.relative_to(ROOT)}: {component}"
        for path, component in _used_components()
        if component not in ALWAYS_ALLOWED | listed | own_platforms
    }
    assert not missing, "used but not in dependencies or after_dependencies: " + ", ".join(
        sorted(missing)
    )


def _keyed_sections(strings: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The keys hassfest holds to the translation-key pattern, with where they are."""
    for name, section in strings.get("selector", {}).items():
        yield f"selector.{name}", name
        for option in section.get("options", {}):
            yield f"selector.{name}.options", option
    for platform, entities in strings.get("entity", {}).items():
        for key, entity in entities.items():
            yield f"entity.{platform}", key
            for state in entity.get("state", {}):
                yield f"entity.{platform}.{key}.state", state
            for attribute in entity.get("state_attributes", {}):
                yield f"entity.{platform}.{key}.state_attributes", attribute
    for section in ("exceptions", "issues", "services"):
        for key in strings.get(section, {}):
            yield section, key


def _values(tree: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _values(value, f"{path}.{key}" if path else key)
    else:
        yield path, tree


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
def test_translations_follow_hassfest(language: str) -> None:
    strings = json.loads((INTEGRATION / "translations" / f"{language}.json").read_text())
    bad_keys = [f"{where}: {key}" for where, key in _keyed_sections(strings)]
    bad_keys = [entry for entry in bad_keys if not TRANSLATION_KEY.match(entry.split(": ")[1])]
    assert not bad_keys, bad_keys
    for path, text in _values(strings):
        assert isinstance(text, str), path
        assert not HTML.search(text), f"{path} reads as HTML: {text}"
        assert not QUOTED_PLACEHOLDER.search(text), f"{path} quotes a placeholder: {text}"
        assert not URL.search(text), f"{path} has a URL (use a placeholder): {text}"
        assert text == text.strip(), f"{path} has leading or trailing spaces"


def _steps(strings: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for flow in ("config", "options"):
        for name, step in strings.get(flow, {}).get("step", {}).items():
            yield f"{flow}.step.{name}", step
    for kind, flow in strings.get("config_subentries", {}).items():
        for name, step in flow.get("step", {}).items():
            yield f"config_subentries.{kind}.step.{name}", step


def test_every_field_has_a_description_and_every_description_a_field() -> None:
    for where, step in _steps(STRINGS):
        fields, described = set(step.get("data", {})), set(step.get("data_description", {}))
        assert not described - fields, f"{where}: data_description without data"
        # The quality scale's config-flow rule: each field says what it is for.
        assert not fields - described, f"{where}: fields without a description"


def test_services_and_icons_follow_hassfest() -> None:
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    slug = re.compile(r"^[a-z0-9_]+$")
    assert all(slug.match(name) for name in services)
    icons = json.loads((INTEGRATION / "icons.json").read_text())
    assert all(icon.startswith("mdi:") for _, icon in _values(icons))


def test_hacs_metadata() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    assert hacs["name"] == "rlink"
    assert hacs["homeassistant"] == "2026.11.0"
    for key in ("codeowners", "documentation", "issue_tracker", "version"):
        assert MANIFEST.get(key), f"HACS needs {key} in the manifest"
    assert [p.name for p in (ROOT / "custom_components").iterdir() if p.is_dir()] == ["rlink"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "Home Assistant 2026.11.0 or newer" in (ROOT / "README.md").read_text()


# The brands repository's rules: name -> (exact size) for icons, (shortest side range) for
# logos. Home Assistant serves these from brand/ before its brands service.
ICONS = {"icon.png": 256, "icon@2x.png": 512}
LOGOS = {
    "logo.png": (128, 256),
    "logo@2x.png": (256, 512),
    "dark_logo.png": (128, 256),
    "dark_logo@2x.png": (256, 512),
}


def test_brand_images() -> None:
    brand = INTEGRATION / "brand"
    assert {p.name for p in brand.iterdir()} <= set(ICONS) | set(LOGOS)
    for name, side in ICONS.items():
        with Image.open(brand / name) as image:
            assert image.format == "PNG"
            assert image.size == (side, side), name
            assert image.getbbox() == (0, 0, side, side), f"{name} is not trimmed"
    for name, (low, high) in LOGOS.items():
        with Image.open(brand / name) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert width >= height, f"{name} is not landscape"
            assert low <= height <= high, name
            assert image.getbbox() == (0, 0, width, height), f"{name} is not trimmed"
    for small, large in (("logo.png", "logo@2x.png"), ("dark_logo.png", "dark_logo@2x.png")):
        assert (brand / small).read_bytes() != (brand / large).read_bytes()
    assert (brand / "logo.png").read_bytes() != (brand / "dark_logo.png").read_bytes()


def test_protocol_package_never_imports_home_assistant() -> None:
    for path in (INTEGRATION / "protocol").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not any(n.split(".")[0] == "homeassistant" for n in names), path
