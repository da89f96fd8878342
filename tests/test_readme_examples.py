"""The README's automation examples call the integration's services as their schemas want."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import probatio
import yaml

from custom_components.rlink import services
from custom_components.rlink.const import DOMAIN

README = Path(__file__).resolve().parents[1] / "README.md"
SCHEMAS = services.ALL_SCHEMAS


def _examples() -> list[dict[str, Any]]:
    section = README.read_text().split("## Examples", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return [automation for block in blocks for automation in yaml.safe_load(block)]


def test_every_example_action_fits_its_service() -> None:
    calls = [
        action
        for automation in _examples()
        for action in automation["actions"]
        if action["action"].startswith(f"{DOMAIN}.")
    ]
    assert len(calls) >= 4
    for call in calls:
        name = call["action"].removeprefix(f"{DOMAIN}.")
        assert name in SCHEMAS, name
        try:  # Home Assistant hands the target over with the data
            SCHEMAS[name]({**call.get("target", {}), **call.get("data", {})})
        except probatio.Invalid as err:
            raise AssertionError(f"{name}: {err}") from err
