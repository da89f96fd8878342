"""Buttons: the device actions that take no input (restart, check the connection, factory
reset, a gateway's search for sub-devices)."""

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


async def _reboot(coordinator: RlinkCoordinator, device: RlinkDevice) -> None:
    data = {"subUuid": device.uuid} if device.gateway else {}
    await coordinator.async_command(coordinator.target(device), Cmd.REBOOT, data, ack=False)


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
        press_fn=lambda coordinator, device: coordinator.async_ping(device),
    ),
)


SEARCH_SECONDS: Final = 60


async def _search(coordinator: RlinkCoordinator, device: RlinkDevice) -> None:
    data = {"second": SEARCH_SECONDS, "bind": True, "find": True}
    await coordinator.async_command(device, Cmd.FIND_BIND, data, ack=True)


async def _list_nearby(coordinator: RlinkCoordinator, device: RlinkDevice) -> None:
    """Search without binding: the gateway reports what it finds (`find_report`, or the
    cloud's `find`, which offers each device under Discovered)."""
    data = {"second": SEARCH_SECONDS, "bind": False, "find": True}
    await coordinator.async_command(device, Cmd.FIND_BIND, data, ack=True)


GATEWAY_BUTTONS: Final = (
    RlinkButtonDescription(
        key="search_sub_devices",
        identifier="button_search_sub_devices",
        translation_key="search_sub_devices",
        watch=frozenset(),
        press_fn=_search,
    ),
    RlinkButtonDescription(
        key="list_nearby_sub_devices",
        identifier="button_list_nearby_sub_devices",
        translation_key="list_nearby_sub_devices",
        entity_registry_enabled_default=False,
        watch=frozenset(),
        press_fn=_list_nearby,
    ),
)


async def _factory_reset(coordinator: RlinkCoordinator, device: RlinkDevice) -> None:
    await coordinator.async_command(device, Cmd.RESET, {"clearData": True}, ack=False)


FACTORY_RESET: Final = RlinkButtonDescription(
    key="factory_reset",
    identifier="button_factory_reset",
    translation_key="factory_reset",
    entity_category=EntityCategory.CONFIG,
    # One press erases the device's settings and data: nobody should find it by accident.
    entity_registry_enabled_default=False,
    watch=frozenset(),
    press_fn=_factory_reset,
)


def build(coordinator: RlinkCoordinator, device: RlinkDevice) -> list[RlinkEntity]:
    descriptions = list(BUTTONS)
    if device.gateway is None:
        if device.profile.has(Kind.GATEWAY):
            descriptions.extend(GATEWAY_BUTTONS)
        # `reset` has no sub-device form, and the app interface of a cloud account no call.
        if coordinator.transport.supports(Cmd.RESET):
            descriptions.append(FACTORY_RESET)
    return [RlinkButton(coordinator, device, description) for description in descriptions]


class RlinkButton(RlinkEntity, ButtonEntity):
    entity_description: RlinkButtonDescription

    async def async_press(self) -> None:
        await self.entity_description.press_fn(self.coordinator, self.device)


async def async_setup_entry(
    hass: HomeAssistant, entry: RlinkConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    entry.runtime_data.entities.async_register(Platform.BUTTON, build, async_add_entities)
