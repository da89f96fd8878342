"""The diagnostics a homeowner downloads from the development house, in both modes: the
config entry's and every device's, through Home Assistant's diagnostics API.

The snapshots show what each report holds and how it is redacted; the test also checks
that none of the house's credentials, signatures or addresses appears in any of them.
Update after an intended change with `pytest tests/test_snapshots_diagnostics.py
--snapshot-update`, and review the difference.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.rlink.const import DOMAIN

from .house import MODES, development_house, stable

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


@pytest.mark.parametrize("mode", MODES)
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    mode: str,
    tmp_path: Path,
) -> None:
    async with development_house(hass, mode, tmp_path) as house:
        report = await get_diagnostics_for_config_entry(hass, hass_client, house.entry)
        assert report == snapshot(name="config_entry", matcher=stable)
        reports = {"config entry": report}
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), house.entry.entry_id)
        for device in sorted(devices, key=_key):
            report = await get_diagnostics_for_device(hass, hass_client, house.entry, device)
            assert report["device"] is not None, f"no diagnostics for {_key(device)}"
            assert report == snapshot(name=f"device-{_key(device)}", matcher=stable)
            reports[_key(device)] = report

    # Credentials and signatures, and where the house is (the hub's, the store's and the
    # camera's address).
    private = [*house.secrets, "127.0.0.1"]
    shown = {
        name: leaked
        for name, found in reports.items()
        if (leaked := [p for p in private if p in json.dumps(found)])
    }
    assert not shown, f"diagnostics show what they must not: {shown}"


def _key(device: dr.DeviceEntry) -> str:
    return next(key for domain, key in device.identifiers if domain == DOMAIN)
