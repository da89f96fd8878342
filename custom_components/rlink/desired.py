"""Writes held for sleeping devices until they wake up.

A battery lock or doorbell is offline most of the time. A write to it is kept as desired
state (the latest value per property wins) and sent when the device comes online, after a
`wake_up` through its gateway where it has one. A write nobody could deliver within
`MAX_AGE` is dropped and a repair issue says which.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .device import RlinkDevice

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

_LOGGER = logging.getLogger(__name__)

MAX_AGE: Final = 24 * 3600.0
"""How long a held write waits for its device, in seconds."""
CHECK_INTERVAL: Final = 300.0


class Holder(Protocol):
    """What held writes need of the coordinator that keeps them."""

    hass: HomeAssistant
    devices: dict[str, RlinkDevice]

    def save_soon(self) -> None: ...

    def spawn(self, coro: Any, name: str) -> None: ...

    def available_gateway(self, device: RlinkDevice) -> bool: ...

    async def async_wake(self, device: RlinkDevice) -> None: ...

    async def async_write(self, device: RlinkDevice, prepared: Mapping[str, Any]) -> None: ...


class DesiredState:
    """The held writes of one hub's devices (they live on each `RlinkDevice.pending`)."""

    def __init__(self, coordinator: Holder, max_age: float = MAX_AGE) -> None:
        self.coordinator = coordinator
        self.max_age = max_age

    def hold(self, device: RlinkDevice, values: Mapping[str, Any]) -> None:
        now = time.time()
        for identifier, value in values.items():
            device.pending[identifier] = (value, now)
        device.notify(values.keys())
        self.coordinator.save_soon()
        _LOGGER.debug("%s is asleep; holding %s", device.name, sorted(values))
        if device.gateway is not None and self.coordinator.available_gateway(device):
            self.coordinator.spawn(self._wake(device), f"rlink wake {device.uuid}")

    async def _wake(self, device: RlinkDevice) -> None:
        try:
            await self.coordinator.async_wake(device)
        except HomeAssistantError as err:
            _LOGGER.info("Could not wake %s; its writes wait for it: %s", device.name, err)

    async def deliver(self, device: RlinkDevice) -> None:
        """The device is online: send what waits for it, in one message."""
        self.expire(device)
        if not device.pending:
            return
        values = {k: v for k, (v, _asked) in device.pending.items()}
        try:
            await self.coordinator.async_write(device, values)
        except HomeAssistantError as err:
            _LOGGER.info("Could not deliver held writes to %s yet: %s", device.name, err)
            return
        for identifier, value in values.items():
            if identifier in device.pending and device.pending[identifier][0] == value:
                del device.pending[identifier]
        device.notify(values.keys())
        self.coordinator.save_soon()

    def expire(self, device: RlinkDevice) -> None:
        cutoff = time.time() - self.max_age
        expired = sorted(k for k, (_v, asked) in device.pending.items() if asked < cutoff)
        if not expired:
            return
        for identifier in expired:
            del device.pending[identifier]
        device.notify(expired)
        self.coordinator.save_soon()
        _LOGGER.warning(
            "%s stayed asleep; dropped the held writes of %s", device.name, ", ".join(expired)
        )
        ir.async_create_issue(
            self.coordinator.hass,
            DOMAIN,
            f"pending_expired_{device.uuid}",
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="pending_expired",
            translation_placeholders={
                "device": device.name,
                "properties": ", ".join(expired),
                "hours": str(round(self.max_age / 3600)),
            },
        )

    def expire_all(self) -> None:
        for device in list(self.coordinator.devices.values()):
            self.expire(device)
