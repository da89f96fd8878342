"""Buttons: reboot a device, check its connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.button import (
    ButtonDeviceClass,
    ButtonEntity,
    ButtonEntityDescription,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import RlinkConfigEntry
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .entity import RlinkEntity, RlinkEntityDescription
from .kinds import Kind
from .protocol.codes import DeviceCommand as Cmd

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class RlinkButtonDescription(RlinkEntityDescription, ButtonEntityDescription):
    press_fn: Callable[[RlinkCoordinator, RlinkDevice], Awaitable[Any]]


async def _reboot(hub: RlinkCoordinator, device: RlinkDevice) -> None:
    data = {"subUuid": device.uuid} if device.gateway else {}
    await hub.async_command(hub.target(device), Cmd.REBOOT, data, ack=False)


BUTTONS: Final = (
    RlinkButtonDescription(
        key="reboot",
        identifier="button_reboot",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        watch=frozenset(),
        press_fn=_reboot,
    ),
    RlinkButtonDescription(
        key="check_connection",
        identifier="button_check_connection",
        translation_key="check_connection",
        entity_category=EntityCategory.DIAGNOSTIC,
        watch=frozenset(),
        press_fn=lambda hub, device: hub.async_ping(device),
    ),
)


async def _search(hub: RlinkCoordinator, device: RlinkDevice) -> None:
    data = {"second": SEARCH_SECONDS, "bind": True, "find": True}
    await hub.async_command(device, Cmd.FIND_BIND, data, ack=True)


SEARCH_SECONDS: Final = 60
SEARCH: Final = RlinkButtonDescription(
    key="search_sub_devices",
    identifier="button_search_sub_devices",
    translation_key="search_sub_devices",
    watch=frozenset(),
    press_fn=_search,
)


def build(hub: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    descriptions = list(BUTTONS)
    if device.profile.has(Kind.GATEWAY) and device.gateway is None:
        descriptions.append(SEARCH)
    return [RlinkButton(hub, device, description) for description in descriptions]


class RlinkButton(RlinkEntity, ButtonEntity):
    entity_description: RlinkButtonDescription

    async def async_press(self) -> None:
        await self.entity_description.press_fn(self.hub, self.device)


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.BUTTON, build, async_add_entities)
