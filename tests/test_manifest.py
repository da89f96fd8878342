"""The integration's metadata is what Home Assistant and HACS expect."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "rlink"


async def test_home_assistant_reads_the_manifest(
    hass: HomeAssistant, custom_integrations: None
) -> None:
    integration = await async_get_integration(hass, "rlink")
    assert integration.domain == "rlink"
    assert integration.config_flow is True
    assert integration.integration_type == "hub"
    assert integration.iot_class == "local_push"
    assert integration.version is not None
    assert any(req.startswith("paho-mqtt") for req in integration.requirements)
    assert any(req.startswith("amqtt") for req in integration.requirements)


def test_hacs_metadata() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "rlink"
    assert hacs["homeassistant"].startswith("2026.")


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
