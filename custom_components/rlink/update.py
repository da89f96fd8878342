"""Firmware: the installed version of each device, and the progress of an update."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homeassistant.components.update import UpdateEntity, UpdateEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription, async_setup_platform
from .hub import RlinkHub

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RlinkUpdateDescription(RlinkEntityDescription, UpdateEntityDescription):
    """The firmware of a device."""


FIRMWARE: Final = RlinkUpdateDescription(
    key="firmware",
    identifier="firmware",
    translation_key="firmware",
    entity_category=EntityCategory.DIAGNOSTIC,
    watch=frozenset({"version", "ota"}),
)


def build(hub: RlinkHub, device: RlinkDevice) -> list[RlinkEntity]:
    return [RlinkFirmware(hub, device, FIRMWARE)]


class RlinkFirmware(RlinkEntity, UpdateEntity):
    """Shows the firmware a device runs. No newer file is known, so latest = installed."""

    entity_description: RlinkUpdateDescription

    @property
    def installed_version(self) -> str | None:
        return self.device.version

    @property
    def latest_version(self) -> str | None:
        return self.device.version

    @property
    def in_progress(self) -> bool:
        return self.device.ota.get("type") in ("downloading", "burning")

    @property
    def update_percentage(self) -> int | None:
        percent = self.device.ota.get("percent")
        if self.device.ota.get("type") == "downloading" and isinstance(percent, int):
            return max(0, min(100, percent))
        return None


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_setup_platform(entry.runtime_data, Platform.UPDATE, build, async_add_entities)
