"""A robot vacuum's map: the file the map store links to, drawn when it is data.

The vacuum uploads its map to the object store configured for it and tells the hub the path
(`sweeper_map_add`); the store's public address plus that path is where the file is. A file
that is a picture is shown as it is, a `grid` file is drawn (map_render). Until a map exists,
or when its file cannot be read, the entity is unavailable: it never errs when asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import ClientError, ClientTimeout
from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription
from .kinds import Kind
from .map_render import MapUnreadable, map_link, render

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0
MAX_MAP_BYTES: Final = 5 * 1024 * 1024
TIMEOUT: Final = ClientTimeout(total=15)


@dataclass(frozen=True, kw_only=True)
class RlinkImageDescription(RlinkEntityDescription, ImageEntityDescription):
    """The map a vacuum shows."""


MAP: Final = RlinkImageDescription(
    key="map", identifier="vacuum_map", translation_key="map", watch=frozenset({"sweeper"})
)


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    if not device.profile.has(Kind.VACUUM) or not coordinator.transport.keeps_vacuum_maps:
        return []
    return [RlinkMapImage(coordinator, device, MAP)]


class MapFileError(Exception):
    """The map file could not be fetched."""


async def fetch_map(hass: HomeAssistant, url: str) -> bytes:
    """The map file from the store the user configured (no redirects, bounded)."""
    session = async_get_clientsession(hass)
    try:
        async with session.get(url, timeout=TIMEOUT, allow_redirects=False) as response:
            if response.status != 200:
                raise MapFileError(f"the store answered HTTP {response.status}")
            body = await response.content.read(MAX_MAP_BYTES + 1)
    except (ClientError, TimeoutError) as err:
        raise MapFileError(f"the request failed: {err}") from err
    if len(body) > MAX_MAP_BYTES:
        raise MapFileError("the map file is too large")
    return body


class RlinkMapImage(RlinkEntity, ImageEntity):
    """The chosen (or newest) map."""

    entity_description: RlinkImageDescription
    _attr_content_type = "image/png"

    def __init__(
        self, coordinator: RlinkCoordinator, device: RlinkDevice, description: RlinkImageDescription
    ) -> None:
        RlinkEntity.__init__(self, coordinator, device, description)
        ImageEntity.__init__(self, coordinator.hass)
        self._shown: tuple[str | None, str | None] = (None, None)
        self._format: str | None = None
        self._picture: bytes | None = None
        self._unreadable: str | None = None
        """The link whose file could not be shown, until another map comes."""
        self._follow_store()

    def _follow_store(self) -> None:
        store = self.coordinator.sweepers.get(self.device.uuid)
        entry = store.shown() if store is not None else None
        link = (
            map_link(self.coordinator.device_options(self.device.uuid), entry)
            if entry is not None
            else None
        )
        shown = (entry.get("mapId") if entry else None, link)
        if shown == self._shown:
            return
        self._shown = shown
        self._format = str(entry.get("mapFormat") or "") if entry else None
        self._picture = None
        created = entry.get("createTime") if entry else None
        self._attr_image_last_updated = (
            (datetime.fromtimestamp(int(created), UTC) if created else datetime.now(UTC))
            if link
            else None
        )

    @property
    def available(self) -> bool:
        # The map is kept by the hub: it stays viewable while the vacuum sleeps.
        link = self._shown[1]
        return link is not None and link != self._unreadable

    async def async_image(self) -> bytes | None:
        link = self._shown[1]
        if link is None or link == self._unreadable:
            return None
        if self._picture is not None:
            return self._picture
        try:
            body = await fetch_map(self.hass, link)
            picture, content_type = await self.hass.async_add_executor_job(
                render, self._format, body
            )
        except MapFileError as err:
            # Maybe passing (the store restarting): asked again next time.
            _LOGGER.info("The map of %s could not be fetched: %s", self.device.name, err)
            return None
        except MapUnreadable as err:
            _LOGGER.warning("The map of %s cannot be shown: %s", self.device.name, err)
            self._unreadable = link
            self.async_write_ha_state()
            return None
        if self._shown[1] == link:
            self._picture, self._attr_content_type = picture, content_type
        return picture

    @callback
    def _on_device_change(self, changed: frozenset[str] | None) -> None:
        if changed is None or self.watches(changed):
            self._follow_store()
            self.async_write_ha_state()

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        return {"map_id": self._shown[0]} if self._shown[0] else None


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.IMAGE, build, async_add_entities)
