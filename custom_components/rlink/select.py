"""Selects: writable enum properties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .descriptions import enum_label, enum_options, enum_value, naming, properties_for
from .device import RlinkDevice
from .entity import (
    RlinkEntity,
    RlinkEntityDescription,
    property_value,
)
from .kinds import Kind
from .protocol.responder import SweeperStore

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkSelectDescription(RlinkEntityDescription, SelectEntityDescription):
    """A select for one writable enum property."""


MAPS: Final = RlinkSelectDescription(
    key="map",
    identifier="vacuum_map_choice",
    translation_key="map",
    options=[],
    watch=frozenset({"sweeper"}),
)


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    maps: list[RlinkEntity] = (
        [RlinkMapSelect(coordinator, device, MAPS)]
        if device.profile.has(Kind.VACUUM) and coordinator.transport.keeps_vacuum_maps
        else []
    )
    return maps + [
        RlinkSelect(
            coordinator,
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
        return enum_label(prop, self.reported_value) if prop is not None else None

    async def async_select_option(self, option: str) -> None:
        prop = self.entity_description.prop
        assert prop is not None
        await self.coordinator.async_set_properties(
            self.device, {prop.identifier: enum_value(prop, option)}
        )


def map_label(entry: dict[str, object]) -> str:
    return f"{entry.get('mapName') or 'Map'} ({entry['mapId']})"


class RlinkMapSelect(RlinkEntity, SelectEntity):
    """Which stored map the map image shows; the vacuum itself is not told."""

    entity_description: RlinkSelectDescription

    def _store(self) -> SweeperStore:
        return self.coordinator.sweeper(self.device.uuid)

    @property
    def available(self) -> bool:
        return bool(self.coordinator.sweepers.get(self.device.uuid, SweeperStore()).maps)

    @property
    def options(self) -> list[str]:
        store = self.coordinator.sweepers.get(self.device.uuid)
        return [map_label(m) for m in store.maps.values()] if store is not None else []

    @property
    def current_option(self) -> str | None:
        store = self.coordinator.sweepers.get(self.device.uuid)
        shown = store.shown() if store is not None else None
        return map_label(shown) if shown is not None else None

    async def async_select_option(self, option: str) -> None:
        store = self._store()
        store.selected = next(
            (map_id for map_id, entry in store.maps.items() if map_label(entry) == option), None
        )
        self.coordinator.save_soon()
        self.device.notify({"sweeper"})


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.SELECT, build, async_add_entities)
