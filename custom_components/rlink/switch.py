"""Switches: writable boolean properties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .descriptions import naming, properties_for
from .device import RlinkDevice
from .entity import (
    RlinkEntity,
    RlinkEntityDescription,
    bool_state,
    property_value,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkSwitchDescription(RlinkEntityDescription, SwitchEntityDescription):
    """A switch for one boolean property."""


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    entities: list[RlinkEntity] = []
    for prop in properties_for(device, Platform.SWITCH):
        description = RlinkSwitchDescription(
            key=prop.identifier,
            identifier=prop.identifier,
            prop=prop,
            value_fn=property_value(prop.identifier),
            **naming(Platform.SWITCH, prop),
        )
        entities.append(RlinkSwitch(coordinator, device, description))
    return entities


class RlinkSwitch(RlinkEntity, SwitchEntity):
    entity_description: RlinkSwitchDescription

    @property
    def is_on(self) -> bool | None:
        return bool_state(self)

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.coordinator.async_set_properties(
            self.device, {self.entity_description.identifier: True}
        )

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.coordinator.async_set_properties(
            self.device, {self.entity_description.identifier: False}
        )


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.SWITCH, build, async_add_entities)
