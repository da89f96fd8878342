"""Numbers: writable numeric properties, with the model's range, step and unit."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .descriptions import naming, properties_for, unit_and_class
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription, property_value
from .protocol.model import DataType

PARALLEL_UPDATES = 0
_NUMBER_CLASSES = {c.value for c in NumberDeviceClass}


@dataclass(frozen=True, kw_only=True)
class RlinkNumberDescription(RlinkEntityDescription, NumberEntityDescription):
    """A number for one writable numeric property."""


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    entities: list[RlinkEntity] = []
    for prop in properties_for(device, Platform.NUMBER):
        info = unit_and_class(prop)
        device_class = info.device_class
        step = prop.step or (1 if prop.type is DataType.INT else 0.1)
        description = RlinkNumberDescription(
            key=prop.identifier,
            identifier=prop.identifier,
            prop=prop,
            native_min_value=prop.min if prop.min is not None else 0,
            native_max_value=prop.max if prop.max is not None else 100,
            native_step=step,
            native_unit_of_measurement=info.unit,
            device_class=(
                NumberDeviceClass(device_class.value)
                if device_class is not None and device_class.value in _NUMBER_CLASSES
                else None
            ),
            mode=NumberMode.AUTO,
            value_fn=property_value(prop.identifier),
            **naming(Platform.NUMBER, prop),
        )
        entities.append(RlinkNumber(coordinator, device, description))
    return entities


class RlinkNumber(RlinkEntity, NumberEntity):
    entity_description: RlinkNumberDescription

    @property
    def native_value(self) -> float | None:
        value = self.reported_value
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        try:
            number = float(value)
        except ValueError:
            return None
        prop = self.entity_description.prop
        # An integer property reads as one ("42", not "42.0").
        return int(number) if prop and prop.type is DataType.INT and number.is_integer() else number

    async def async_set_native_value(self, value: float) -> None:
        prop = self.entity_description.prop
        # The slider or a template may give 41.6 for an integer: the nearest one, not 41.
        native: float | int = round(value) if prop and prop.type is DataType.INT else value
        await self.coordinator.async_set_properties(
            self.device, {self.entity_description.identifier: native}
        )


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.NUMBER, build, async_add_entities)
