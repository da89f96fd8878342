"""What a homeowner sees of the development house, in both modes: every entity's registry
entry and state, the entities added disabled, and every device.

A change of an entity's name, unit, device or state class, category, translation key,
unique id, icon or options shows up here as a snapshot difference. After a change meant to
alter what users see, update the snapshots and review the difference:
`pytest tests/test_snapshots_entities.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion

from custom_components.rlink.const import DOMAIN

from .house import MODES, development_house, stable

pytestmark = pytest.mark.usefixtures("custom_integrations", "sockets")


@pytest.mark.parametrize("mode", MODES)
async def test_entities_and_devices(
    hass: HomeAssistant, snapshot: SnapshotAssertion, mode: str, tmp_path: Path
) -> None:
    entity_registry, device_registry = er.async_get(hass), dr.async_get(hass)
    async with development_house(hass, mode, tmp_path) as house:
        entry_id = house.entry.entry_id
        entities = er.async_entries_for_config_entry(entity_registry, entry_id)
        # The list first: an entity that comes or goes shows here at a glance.
        assert sorted(e.entity_id for e in entities) == snapshot(name="entity-ids")
        for entity in sorted(entities, key=lambda e: e.entity_id):
            assert entity == snapshot(name=f"{entity.entity_id}-entry")
            state = hass.states.get(entity.entity_id)
            assert state is not None, f"{entity.entity_id} has no state"
            assert state == snapshot(name=f"{entity.entity_id}-state", matcher=stable)
        assert house.disabled_by_default == snapshot(name="disabled-by-default")

        devices = dr.async_entries_for_config_entry(device_registry, entry_id)
        assert len(devices) == len(house.entry.runtime_data.coordinator.devices)
        for device in sorted(devices, key=_key):
            assert device == snapshot(name=f"device-{_key(device)}")


def _key(device: dr.DeviceEntry) -> str:
    return next(key for domain, key in device.identifiers if domain == DOMAIN)
