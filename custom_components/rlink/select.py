"""Selects: writable enum properties."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .descriptions import enum_label, enum_options, enum_value, naming, properties_for
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription, async_setup_platform, property_value
from .hub import RlinkHub

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkSelectDescription(RlinkEntityDescription, SelectEntityDescription):
    """A select for one writable enum property."""


def build(hub: RlinkHub, device: RlinkDevice) -> list[RlinkEntity]:
    return [
        RlinkSelect(
            hub,
            device,
            RlinkSelectDescription(
                key=prop.identifier,
                identifier=prop.identifier,
                prop=prop,
                options=enum_options(prop),
                value_fn=property_value(prop.identifier),
                **naming(Platform.SELECT, prop),
            ),
        )
        for prop in properties_for(device, Platform.SELECT)
    ]


class RlinkSelect(RlinkEntity, SelectEntity):
    entity_description: RlinkSelectDescription

    @property
    def current_option(self) -> str | None:
        prop = self.entity_description.prop
        return enum_label(prop, self.value) if prop is not None else None

    async def async_select_option(self, option: str) -> None:
        prop = self.entity_description.prop
        assert prop is not None
        await self.hub.async_set_properties(
            self.device, {prop.identifier: enum_value(prop, option)}
        )


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_setup_platform(entry.runtime_data, Platform.SELECT, build, async_add_entities)
