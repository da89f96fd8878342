"""The firmware folder: what counts as a firmware file, its version, and how it is offered."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.rlink.firmware import FirmwareCatalog, newer, scan


def _write(root: Path, pid: str, name: str, body: bytes = b"fw") -> Path:
    (root / pid).mkdir(parents=True, exist_ok=True)
    path = root / pid / name
    path.write_bytes(body)
    return path


def test_the_folder_names_versions_and_types(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "p1", "plug_v1.2.0.bin", b"old")
    _write(tmp_path, "p1", "plug-1.10.0.bin", b"new")
    # A sidecar names the version and the firmware type (MCU here).
    sidecar = _write(tmp_path, "p1", "mcu.bin", b"mcu")
    sidecar.with_name("mcu.bin.json").write_text(json.dumps({"version": "1.5", "firmware_type": 3}))
    # A sidecar that is not JSON, a type the protocol does not know, a name without a version.
    broken = _write(tmp_path, "p2", "cam_v2.0.bin")
    broken.with_name("cam_v2.0.bin.json").write_text("{not json")
    odd = _write(tmp_path, "p2", "cam_v2.1.bin")
    odd.with_name("cam_v2.1.bin.json").write_text(json.dumps({"firmware_type": 9}))
    _write(tmp_path, "p3", "firmware.bin")
    (tmp_path / "stray.bin").write_bytes(b"not in a product folder")

    found = scan(tmp_path)
    assert [(f.name, f.version) for f in found["p1"]] == [
        ("plug-1.10.0.bin", "1.10.0"),  # newest first, by version, not by name
        ("mcu.bin", "1.5"),
        ("plug_v1.2.0.bin", "1.2.0"),
    ]
    assert found["p1"][1].firmware_type == 3
    assert found["p1"][0].md5 == hashlib.md5(b"new").hexdigest()
    assert found["p1"][0].size == 3
    assert [(f.version, f.firmware_type) for f in found["p2"]] == [("2.1", 2), ("2.0", 2)]
    assert "p3" not in found
    assert "not valid JSON" in caplog.text
    assert "no version in its name" in caplog.text
    assert scan(tmp_path / "missing") == {}


@pytest.mark.parametrize(
    ("candidate", "installed", "offered"),
    [
        ("1.10.0", "1.9.0", True),
        ("1.2.0", "1.10.0", False),
        ("1.0.0", None, True),
        ("build-b", "build-a", True),  # versions that do not compare: any other one is new
        ("build-a", "build-a", False),
    ],
)
def test_what_counts_as_newer(candidate: str, installed: str | None, offered: bool) -> None:
    assert newer(candidate, installed) is offered


async def test_no_link_without_an_address_devices_can_reach(hass: HomeAssistant) -> None:
    catalog = FirmwareCatalog(hass)
    catalog.root = Path(hass.config.path("rlink", "firmware"))
    _write(catalog.root, "p1", "plug_v1.0.bin")
    await catalog.async_scan()
    firmware = catalog.find("p1", None)
    assert firmware is not None
    assert catalog.find("p1", "1.0") == firmware
    assert catalog.find("p1", "9.9") is None
    # Home Assistant's HTTP server is not running here: there is no link to give.
    with pytest.raises(HomeAssistantError) as raised:
        catalog.url(firmware)
    assert raised.value.translation_key == "no_local_url"
