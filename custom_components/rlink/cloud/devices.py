"""The devices of a cloud account: known by the cloud's device id, learned from what the
cloud tells, remembered between starts."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr

from ..const import (
    CONF_DEVICE_ID,
    CONF_PID,
    CONF_UUID,
    SUBENTRY_DEVICE,
)
from ..coordinator import RlinkCoordinator
from ..device import RlinkDevice
from ..roster import automatic_name
from ..transport import Transport

_LOGGER = logging.getLogger(__name__)


class CloudDevices(Transport):
    """Which devices the account has; `account.CloudAccount` builds on it."""

    coordinator: RlinkCoordinator

    def _restore(self, cached: Mapping[str, Any]) -> None:
        for device_id, saved in cached.items():
            device = RlinkDevice(
                device_id,
                saved.get("pid") or "",
                saved.get("name") or device_id,
                gateway=saved.get("gateway"),
            )
            device.restore(saved)
            self._add(device)

    def _add(self, device: RlinkDevice) -> RlinkDevice:
        self.devices[device.uuid] = device
        gateway = self.devices.get(device.gateway) if device.gateway else None
        if gateway is not None and device.subentry_id is None:
            # Listed under the gateway's own entry in the UI, as on a local hub.
            device.subentry_id = gateway.subentry_id
        self.coordinator.attach_model(device)
        self.coordinator.register(device)
        self.coordinator.announce(device)
        return device

    @callback
    def sync_subentries(self, cached: Mapping[str, Any] | None = None) -> None:
        """Devices the user added by hand: name, product id and uuid come from the subentry."""
        for subentry in self.entry.subentries.values():
            if subentry.subentry_type != SUBENTRY_DEVICE:
                continue
            device_id = subentry.data[CONF_DEVICE_ID]
            device = self.devices.get(device_id)
            if device is None:
                device = RlinkDevice(device_id, "", subentry.title)
                self.devices[device_id] = device
            device.subentry_id = subentry.subentry_id
            device.name = subentry.title
            device.pid = subentry.data.get(CONF_PID) or device.pid
            device.hardware_uuid = subentry.data.get(CONF_UUID) or device.hardware_uuid
            self._add(device)

    def device_for(
        self,
        device_id: str,
        *,
        gateway: str | None = None,
        pid: str | None = None,
        uuid: str | None = None,
    ) -> RlinkDevice:
        """The device a notification names, added (and remembered) when it is new."""
        device = self.devices.get(device_id)
        if device is None:
            device = RlinkDevice(
                device_id,
                pid or "",
                (name := automatic_name(None, pid or "", device_id)),
                gateway=gateway,
                automatic_name=name,
            )
            device.hardware_uuid = uuid
            self._add(device)
            self.coordinator.save_soon()
            self.coordinator.spawn(self._resync(device), f"rlink cloud resync {device_id}")
            return device
        changed = False
        if pid and pid != device.pid:
            device.pid, changed = pid, True  # an automatic name follows (_attach_model)
        if uuid and uuid != device.hardware_uuid:
            device.hardware_uuid, changed = uuid, True
        if gateway and gateway != device.gateway:
            device.gateway, changed = gateway, True
        if changed:
            self._add(device)
            self.coordinator.save_soon()
        return device

    def forget_device(self, device_id: str) -> None:
        """Drop a device (the registry entry is the caller's business)."""
        if self.devices.pop(device_id, None) is not None:
            self.coordinator.save_soon()

    @callback
    def remove_device(self, device_id: str) -> None:
        """The cloud unbound a device: forget it and take it out of the registry."""
        self.forget_device(device_id)
        if (entry := self.coordinator.registry_entry(device_id)) is not None:
            dr.async_get(self.hass).async_remove_device(entry.id)

    @abstractmethod
    async def _resync(self, device: RlinkDevice) -> None:
        """Ask the cloud for all of a device's values."""
