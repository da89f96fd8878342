"""Binary sensors: read-only boolean properties."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .descriptions import binary_class_for, naming, properties_for
from .device import RlinkDevice
from .entity import (
    RlinkEntity,
    RlinkEntityDescription,
    bool_state,
    property_value,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkBinarySensorDescription(RlinkEntityDescription, BinarySensorEntityDescription):
    """A binary sensor for one boolean property."""


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    return [
        RlinkBinarySensor(
            coordinator,
            device,
            RlinkBinarySensorDescription(
                key=prop.identifier,
                identifier=prop.identifier,
                prop=prop,
                device_class=binary_class_for(prop),
                value_fn=property_value(prop.identifier),
                **naming(Platform.BINARY_SENSOR, prop),
            ),
        )
        for prop in properties_for(device, Platform.BINARY_SENSOR)
    ]


class RlinkBinarySensor(RlinkEntity, BinarySensorEntity):
    entity_description: RlinkBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        return bool_state(self)


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.BINARY_SENSOR, build, async_add_entities)
