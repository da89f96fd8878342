"""The devices of one config entry: registry entries, models and kinds, sub-devices, and the
cache they are kept in. `coordinator.RlinkCoordinator` builds on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .const import (
    CONF_DEVICES,
    CONF_SETTINGS,
    CONFIG_SAVE_DELAY,
    DOMAIN,
    MANUFACTURER,
    SAVE_DELAY,
)
from .device import RlinkDevice
from .kinds import resolve_profile
from .models import ModelStore
from .protocol.model import ObjectModel
from .protocol.responder import SweeperStore
from .ratelimit import RateLimitedLog
from .transport import Transport
from .values import (
    normalise_values,
)

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

CACHE_VERSION: Final = 1

type DevicesListener = Callable[[RlinkDevice], None]
type UnloadListener = Callable[[str], Awaitable[None]]


def cache_key(entry_id: str) -> str:
    """The storage key of an entry's device cache."""
    return f"{DOMAIN}.{entry_id}.devices"


def automatic_name(model: ObjectModel | None, pid: str, uid: str) -> str:
    """The name of a device nobody named: its product's name (from the model, else the
    product id) and the end of its id."""
    product = (model.product_name if model is not None else None) or pid or "rlink device"
    return f"{product} {uid[-4:]}"


class DeviceRoster:
    """Which devices there are, what they are, and where Home Assistant lists them."""

    transport: Transport

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, models: ModelStore) -> None:
        self.hass = hass
        self.entry = entry
        self.models = models
        self.devices: dict[str, RlinkDevice] = {}
        self.sweepers: dict[str, SweeperStore] = {}
        """Each vacuum's maps and cleaning records, by device key."""
        self.log = RateLimitedLog(_LOGGER)
        self._cache: Store[dict[str, Any]] = Store(hass, CACHE_VERSION, cache_key(entry.entry_id))
        self._save_due = False
        self._config_due = False
        self._device_listeners: list[DevicesListener] = []
        self._unload_listeners: list[UnloadListener] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def device_options(self, uuid: str) -> Mapping[str, Any]:
        """The device's settings, from its own subentry; a gateway's sub-device has none,
        what it has is kept in the hub's options."""
        device = self.devices.get(uuid)
        subentry = self.entry.subentries.get(device.subentry_id or "") if device else None
        if subentry is not None and subentry.unique_id == uuid:
            settings: Mapping[str, Any] = subentry.data.get(CONF_SETTINGS, {})
            return settings
        options: Mapping[str, Mapping[str, Any]] = self.entry.options.get(CONF_DEVICES, {})
        return options.get(uuid, {})

    def sweeper(self, uuid: str) -> SweeperStore:
        """A vacuum's maps and records, created empty."""
        return self.sweepers.setdefault(uuid, SweeperStore())

    def spawn(self, coro: Any, name: str) -> None:
        task = self.entry.async_create_background_task(self.hass, coro, name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_stop(self, undo: Callable[[], None]) -> None:
        """Call `undo` when the entry stops (a listener to remove, a service to drop)."""
        self._unsubscribe.append(undo)

    @callback
    def async_add_devices_listener(self, listener: DevicesListener) -> Callable[[], None]:
        """Called for every device now, and again whenever one appears or changes shape."""
        self._device_listeners.append(listener)
        for device in list(self.devices.values()):
            listener(device)
        return lambda: self._device_listeners.remove(listener)

    @callback
    def async_add_unload_listener(self, listener: UnloadListener) -> None:
        """Called with a device's key before the device changes identity."""
        self._unload_listeners.append(listener)

    def announce(self, device: RlinkDevice) -> None:
        for listener in list(self._device_listeners):
            listener(device)

    def attach_model(self, device: RlinkDevice) -> None:
        device.model = self.models.effective(device.pid) if device.pid else None
        device.model_inferred = bool(device.pid) and self.models.is_inferred(device.pid)
        normalise_values(device)
        self.resolve_profile(device)
        # Sub-devices and devices the cloud told of carry no name of their own.
        if device.automatic_name is not None and device.name == device.automatic_name:
            name = automatic_name(device.model, device.pid, device.uuid)
            if name != device.name:
                device.name = device.automatic_name = name
                if self.registry_entry(device.uuid) is not None:
                    self.register(device)

    def resolve_profile(self, device: RlinkDevice) -> bool:
        """Work out the device's kinds again; True when they changed."""
        profile = resolve_profile(device.model, device.behaviours, self.device_options(device.uuid))
        if profile == device.profile:
            return False
        device.profile = profile
        return True

    @callback
    def async_refresh_profiles(self) -> None:
        """Options changed: rebuild the entities of devices whose kinds changed."""
        for device in list(self.devices.values()):
            if self.resolve_profile(device):
                self.announce(device)
                device.notify()

    @callback
    def _on_model_changed(self, pid: str) -> None:
        for device in list(self.devices.values()):
            if device.pid == pid:
                self.attach_model(device)
                self.announce(device)
                device.notify()

    def register(self, device: RlinkDevice) -> dr.DeviceEntry:
        """Create or update the device registry entry."""
        mac = device.network.get("mac")
        gateway = self.registry_entry(device.gateway) if device.gateway else None
        return dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.entry.entry_id,
            config_subentry_id=device.subentry_id,
            identifiers={(DOMAIN, device.uuid)},
            connections={(dr.CONNECTION_NETWORK_MAC, dr.format_mac(mac))} if mac else None,
            manufacturer=MANUFACTURER,
            model=(device.model.product_name if device.model else None) or device.pid or None,
            model_id=device.pid or None,
            name=device.name,
            sw_version=device.version,
            hw_version=device.mcu_version,
            serial_number=device.hardware_uuid or device.uuid,
            via_device_id=gateway.id if gateway is not None else None,
        )

    def registry_entry(self, uuid: str) -> dr.DeviceEntry | None:
        """This entry's registry device for a uuid (or a cloud device id)."""
        return dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, uuid), self.entry.entry_id
        )

    def device_id(self, device: RlinkDevice) -> str | None:
        entry = self.registry_entry(device.uuid)
        return entry.id if entry is not None else None

    @callback
    def add_subdevice(self, gateway: RlinkDevice, uuid: str, pid: str) -> RlinkDevice:
        sub = self.devices.get(uuid)
        if sub is None:
            sub = RlinkDevice(
                uuid,
                pid,
                (name := automatic_name(None, pid, uuid)),
                gateway=gateway.uuid,
                subentry_id=gateway.subentry_id,
                automatic_name=name,
            )
            self.devices[uuid] = sub
        sub.pid = pid
        self.attach_model(sub)
        self.register(sub)
        self.announce(sub)
        self.save_soon()
        return sub

    async def async_move_identity(self, old: RlinkDevice, new_uuid: str) -> None:
        """A replacement sub-device takes over the old one's place: registry entry, entity
        ids and history stay, under the new uuid."""
        old_uuid = old.uuid
        for unload in list(self._unload_listeners):
            await unload(old_uuid)
        entry = self.registry_entry(old_uuid)
        entities = er.async_get(self.hass)
        if entry is not None:
            for entity in er.async_entries_for_device(
                entities, entry.id, include_disabled_entities=True
            ):
                if entity.unique_id.startswith(f"{old_uuid}_"):
                    new_id = new_uuid + entity.unique_id[len(old_uuid) :]
                    entities.async_update_entity(entity.entity_id, new_unique_id=new_id)
            dr.async_get(self.hass).async_update_device(
                entry.id, new_identifiers={(DOMAIN, new_uuid)}, serial_number=new_uuid
            )
        if self.devices.pop(old_uuid, None) is None:
            return
        old.uuid = new_uuid
        old.online = False
        self.devices[new_uuid] = old
        if (configs := self.transport.gateway_configs) is not None:
            configs.rename_device(old_uuid, new_uuid)
        self.announce(old)
        old.notify()
        self.save_soon()

    @callback
    def forget_subdevice(self, uuid: str) -> RlinkDevice | None:
        """Drop a sub-device (the registry entry is the caller's business)."""
        sub = self.devices.get(uuid)
        if sub is None or sub.gateway is None:
            return None
        del self.devices[uuid]
        self.forget_extras(uuid)
        self.save_soon()
        return sub

    @callback
    def forget_extras(self, uuid: str) -> None:
        """A device left: its options and its repair issues go with it."""
        ir.async_delete_issue(self.hass, DOMAIN, f"pending_expired_{uuid}")
        devices = self.entry.options.get(CONF_DEVICES, {})
        if uuid in devices:
            self.hass.config_entries.async_update_entry(
                self.entry,
                options={
                    **self.entry.options,
                    CONF_DEVICES: {k: v for k, v in devices.items() if k != uuid},
                },
            )

    @callback
    def remove_subdevice(self, uuid: str) -> None:
        """The gateway unbound a sub-device: forget it and remove it from the registry."""
        if self.forget_subdevice(uuid) is None:
            return
        if (entry := self.registry_entry(uuid)) is not None:
            dr.async_get(self.hass).async_remove_device(entry.id)

    def save_soon(self) -> None:
        """Configuration changed (sub-devices, local configs, held writes, maps, logins):
        write the cache at the next turn of the loop.

        One call schedules the write and the rest until it happens join it, so a stream of
        changes cannot postpone it (it saves the state of its moment).
        """
        if self._config_due:
            return
        self._config_due = self._save_due = True
        self._cache.async_delay_save(self._cache_now, CONFIG_SAVE_DELAY)

    def save_values(self) -> None:
        """Live values changed: they are written on a fixed cadence, within SAVE_DELAY of
        the first change since the last write, never once per report.

        Home Assistant's delayed save moves the write later at every call: with a device
        reporting more often than the delay, it would wait for shutdown. So one call
        schedules the write, and the rest wait for it.
        """
        if self._save_due:
            return
        self._save_due = True
        self._cache.async_delay_save(self._cache_now, SAVE_DELAY)

    def _cache_now(self) -> dict[str, Any]:
        self._save_due = self._config_due = False
        return self._cache_data()

    def _cache_data(self) -> dict[str, Any]:
        return {
            "devices": {uuid: d.snapshot() for uuid, d in self.devices.items()},
            "sweepers": {u: s.dump() for u, s in self.sweepers.items()},
            **self.transport.cache_data(),
        }

    def fire(self, event: str, device: RlinkDevice, **data: Any) -> None:
        self.hass.bus.async_fire(
            event, {"device_id": self.device_id(device), "uuid": device.uuid, **data}
        )
