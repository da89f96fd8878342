"""Texts: writable text properties, limited to the model's length."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.text import TextEntity, TextEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .descriptions import naming, properties_for
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription, property_value

PARALLEL_UPDATES = 0
_HA_MAX_LENGTH = 255  # Home Assistant's limit for a text entity's value


@dataclass(frozen=True, kw_only=True)
class RlinkTextDescription(RlinkEntityDescription, TextEntityDescription):
    """A text for one writable text property."""


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    return [
        RlinkText(
            coordinator,
            device,
            RlinkTextDescription(
                key=prop.identifier,
                identifier=prop.identifier,
                prop=prop,
                native_max=min(prop.length or _HA_MAX_LENGTH, _HA_MAX_LENGTH),
                value_fn=property_value(prop.identifier),
                **naming(Platform.TEXT, prop),
            ),
        )
        for prop in properties_for(device, Platform.TEXT)
    ]


class RlinkText(RlinkEntity, TextEntity):
    entity_description: RlinkTextDescription

    @property
    def native_value(self) -> str | None:
        value = self.reported_value
        return value if isinstance(value, str) else None

    async def async_set_value(self, value: str) -> None:
        await self.coordinator.async_set_properties(
            self.device, {self.entity_description.identifier: value}
        )


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.TEXT, build, async_add_entities)
