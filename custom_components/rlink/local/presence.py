"""Who is there: the device server tells, an external broker's devices are asked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Final

from homeassistant.core import callback
from homeassistant.exceptions import (
    HomeAssistantError,
)

from ..device import RlinkDevice
from ..protocol.codes import DeviceCommand as Cmd
from ..protocol.policy import Principal, Role
from ..protocol.session import (
    SessionState,
)
from ..protocol.topics import TopicKind, device_topic
from .base import LocalBase

_LOGGER = logging.getLogger(__name__)


class Presence(LocalBase):
    """Devices coming and going, and what the hub asks them when they do."""

    def _on_principal_online(self, principal: Principal) -> None:
        if principal.role is Role.DEVICE:
            self._on_device_online(principal.identity)

    def _on_principal_offline(self, principal: Principal) -> None:
        if principal.role is Role.DEVICE:
            self._on_device_offline(principal.identity)

    def _on_device_online(self, uuid: str) -> None:
        device = self.devices.get(uuid)
        if device is not None:
            device.needs_resync = True
            device.seen()
            self.coordinator.set_online(device, True)

    def _on_device_offline(self, uuid: str) -> None:
        device = self.devices.get(uuid)
        if device is not None:
            self.coordinator.set_online(device, False)

    @callback
    def _on_session_state(self, state: SessionState, reason: str | None) -> None:
        self.coordinator.log_link(state, reason)
        if state is SessionState.CONNECTED:
            self._refused = False
        if state is SessionState.CONNECTED and self.session is not None:
            if not self.embedded:
                # The broker says nothing about who is there: ask everyone, and mark them
                # online as they answer.
                for device in self.devices.values():
                    device.online = False
                self.coordinator.spawn(self._resync_rounds(), "rlink resync")
            else:
                self.resync_all()
        for device in self.devices.values():
            device.notify()

    def resync_all(self) -> None:
        """Ask every directly connected device for all its values."""
        for device in list(self.devices.values()):
            if device.gateway is None and (not self.embedded or device.online):
                self.coordinator.spawn(self._resync(device), f"rlink resync {device.uuid}")

    async def _resync_rounds(self) -> None:
        """Devices reconnect on their own schedule: ask again those not heard from yet."""
        for delay in _RESYNC_ROUNDS:
            await asyncio.sleep(delay)
            for device in list(self.devices.values()):
                if device.gateway is None and not device.online:
                    await self._resync(device)

    async def _resync(self, device: RlinkDevice) -> None:
        if not self._heard(device_topic(TopicKind.ISSUE, device.pid, device.uuid)):
            device.needs_resync = True  # it reported before subscribing: ask at its next
            return
        data: dict[str, Any] = {"reportAll": True}
        subs = [d.uuid for d in self.devices.values() if d.gateway == device.uuid]
        if subs:
            data["subUuids"] = subs
        with contextlib.suppress(HomeAssistantError):
            await self.async_command(
                device, Cmd.PROPERTY_GET, data, ack=False, require_online=False
            )

    async def _watch_silence(self) -> None:
        """External brokers say nothing about presence: ping devices that went quiet."""
        while True:
            interval = self.ping_interval
            await asyncio.sleep(min(interval / 4, 60))
            now = time.monotonic()
            for device in list(self.devices.values()):
                if device.gateway is not None:
                    continue
                last = device.last_seen or self.coordinator.started_at
                if now - last >= interval:
                    self.coordinator.spawn(self._ping_quiet(device), f"rlink ping {device.uuid}")

    async def _ping_quiet(self, device: RlinkDevice) -> None:
        try:
            await self.async_ping(device)
        except HomeAssistantError:
            self.coordinator.set_online(device, False)
            device.last_seen = time.monotonic()  # wait a full interval before the next try


_RESYNC_ROUNDS: Final = (0.0, 5.0, 15.0, 45.0)
