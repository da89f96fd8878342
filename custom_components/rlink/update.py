"""Firmware: the installed version, the newest file the user provided, and installing it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.update import (
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .const import DOMAIN
from .coordinator import OTA_BUSY, RlinkCoordinator
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription
from .firmware import DATA_FIRMWARE, FirmwareFile, async_install, newer

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkUpdateDescription(RlinkEntityDescription, UpdateEntityDescription):
    """The firmware of a device."""


FIRMWARE: Final = RlinkUpdateDescription(
    key="firmware",
    identifier="firmware",
    translation_key="firmware",
    entity_category=EntityCategory.CONFIG,
    watch=frozenset({"version", "ota"}),
)


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    return [RlinkFirmware(coordinator, device, FIRMWARE)]


class RlinkFirmware(RlinkEntity, UpdateEntity):
    """The device's firmware; a newer file in <config>/rlink/firmware/<pid>/ is an update."""

    entity_description: RlinkUpdateDescription
    _attr_supported_features = (
        UpdateEntityFeature.INSTALL
        | UpdateEntityFeature.PROGRESS
        | UpdateEntityFeature.SPECIFIC_VERSION
    )

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        catalog = self.hass.data[DATA_FIRMWARE]
        self.async_on_remove(catalog.add_listener(self.async_write_ha_state))

    async def async_update(self) -> None:
        """Checking for updates (`homeassistant.update_entity`) reads the folder again."""
        await self.hass.data[DATA_FIRMWARE].async_scan()

    def _newest(self) -> FirmwareFile | None:
        return self.hass.data[DATA_FIRMWARE].latest(self.device.pid) if self.hass else None

    @property
    def installed_version(self) -> str | None:
        return self.device.version

    @property
    def latest_version(self) -> str | None:
        newest = self._newest()
        if newest is not None and newer(newest.version, self.device.version):
            return newest.version
        return self.device.version

    @property
    def in_progress(self) -> bool:
        return self.device.ota.get("type") in OTA_BUSY

    @property
    def update_percentage(self) -> int | None:
        if self.device.ota.get("type") != "downloading":
            return None
        percent = self.device.ota.get("percent")
        if isinstance(percent, bool) or not isinstance(percent, int | float | str):
            return None
        try:
            value = float(percent)  # devices send 40, 37.5 or "40"
        except ValueError:
            return None
        return max(0, min(100, round(value))) if math.isfinite(value) else None

    async def async_install(self, version: str | None, backup: bool, **kwargs: Any) -> None:
        catalog = self.hass.data[DATA_FIRMWARE]
        firmware = catalog.find(self.device.pid, version)
        if firmware is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="no_firmware",
                translation_placeholders={"pid": self.device.pid, "version": version or "latest"},
            )
        await async_install(self.coordinator, self.device, firmware)


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.UPDATE, build, async_add_entities)
