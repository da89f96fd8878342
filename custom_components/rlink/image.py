"""A robot vacuum's map, when the map store links to an image Home Assistant can fetch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription, async_setup_platform
from .kinds import Kind
from .protocol.responder import DeviceRef
from .runtime import DeviceRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkImageDescription(RlinkEntityDescription, ImageEntityDescription):
    """The map a vacuum shows."""


MAP: Final = RlinkImageDescription(
    key="map", identifier="vacuum_map", translation_key="map", watch=frozenset({"sweeper"})
)


def build(hub: DeviceRuntime, device: RlinkDevice) -> list[RlinkEntity]:
    if not device.profile.has(Kind.VACUUM):
        return []
    return [RlinkMapImage(hub, device, MAP)]


class RlinkMapImage(RlinkEntity, ImageEntity):
    """The chosen (or newest) map; its URL is the store's `mapSignPath`."""

    entity_description: RlinkImageDescription

    def __init__(
        self, hub: DeviceRuntime, device: RlinkDevice, description: RlinkImageDescription
    ) -> None:
        RlinkEntity.__init__(self, hub, device, description)
        ImageEntity.__init__(self, hub.hass)
        self._shown: tuple[str | None, str | None] = (None, None)
        self._follow_store()

    def _follow_store(self) -> None:
        store = self.hub.answers.sweepers.get(self.device.uuid)
        entry = store.shown() if store is not None else None
        link = (
            self.hub.answers.map_link(DeviceRef(self.device.uuid, self.device.pid), entry)
            if entry is not None
            else None
        )
        shown = (entry.get("mapId") if entry else None, link)
        if shown == self._shown:
            return
        self._shown = shown
        self._attr_image_url = link
        self._cached_image = None
        created = entry.get("createTime") if entry else None
        self._attr_image_last_updated = (
            datetime.fromtimestamp(int(created), UTC) if link and created else None
        )

    @property
    def available(self) -> bool:
        # The map is stored by the hub: it stays viewable while the vacuum sleeps.
        return self._shown[1] is not None

    @callback
    def _on_device_change(self, changed: frozenset[str] | None) -> None:
        if changed is None or self.watches(changed):
            self._follow_store()
            self.async_write_ha_state()


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_setup_platform(entry.runtime_data, Platform.IMAGE, build, async_add_entities)
