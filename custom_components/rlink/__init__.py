"""The rlink integration: rlink MQTT 2.0 devices in Home Assistant."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, UpdateListenerType
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.hass_dict import HassKey

from .cloud.account import CloudAccount
from .const import (
    BROKER_EXTERNAL,
    CONF_BROKER,
    CONF_DEVICES,
    CONF_MODE,
    CONF_SETTINGS,
    CONF_UUID,
    DOMAIN,
    ENTRY_VERSION,
    MODE_CLOUD,
    PLATFORMS,
    SUBENTRY_DEVICE,
)
from .coordinator import RlinkCoordinator
from .data import RlinkConfigEntry, RlinkData
from .entity import EntityFactory
from .firmware import DATA_FIRMWARE, FirmwareCatalog, FirmwareView
from .local.broker_auth import DATA_BROKER_AUTH, BrokerAuthRegistry, BrokerAuthView
from .local.device_logs import DATA_DEVICE_LOGS, DeviceLogs, DeviceLogUploadView, DeviceLogView
from .local.hub import LocalHub, async_forget_broker_session
from .models import ModelStore
from .roster import CACHE_VERSION, cache_key
from .services import async_setup_services
from .transport import Transport

__all__ = ["RlinkConfigEntry"]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
DATA_MODELS: HassKey[ModelStore] = HassKey(f"{DOMAIN}_models")
FIRMWARE_WATCH_INTERVAL = timedelta(seconds=3)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up what all hubs share: the model store and the services."""
    models = ModelStore(hass)
    await models.async_load()
    hass.data[DATA_MODELS] = models
    catalog = FirmwareCatalog(hass)
    await catalog.async_scan()
    hass.data[DATA_FIRMWARE] = catalog
    # Views belong to setup: the HTTP router may be frozen by the time a device updates.
    hass.http.register_view(FirmwareView(catalog))
    logs = DeviceLogs(hass)
    hass.data[DATA_DEVICE_LOGS] = logs
    hass.http.register_view(DeviceLogUploadView(logs))
    hass.http.register_view(DeviceLogView(logs))
    broker_auth = BrokerAuthRegistry()
    hass.data[DATA_BROKER_AUTH] = broker_auth
    hass.http.register_view(BrokerAuthView(broker_auth))

    async def watch(_now: datetime) -> None:
        await catalog.async_watch()

    async_track_time_interval(hass, watch, FIRMWARE_WATCH_INTERVAL, cancel_on_shutdown=True)
    async_setup_services(hass)
    return True


def _settings_onto_subentries(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """1 -> 2: each device's settings move from the hub's options (by uuid) to its subentry.

    A gateway's sub-devices have no subentry: what they have stays in the options.
    """
    left = dict(entry.options.get(CONF_DEVICES) or {})
    for subentry in list(entry.subentries.values()):
        if subentry.subentry_type != SUBENTRY_DEVICE or subentry.unique_id not in left:
            continue
        settings = left.pop(subentry.unique_id)
        hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_SETTINGS: settings}
        )
    options = {key: value for key, value in entry.options.items() if key != CONF_DEVICES}
    if left:
        options[CONF_DEVICES] = left
    hass.config_entries.async_update_entry(entry, options=options)


# What an entry of each version needs to become one of the next.
_MIGRATIONS: Final[Mapping[int, Callable[[HomeAssistant, ConfigEntry], None]]] = {
    1: _settings_onto_subentries,
}


async def async_migrate_entry(hass: HomeAssistant, entry: RlinkConfigEntry) -> None:
    """Bring an entry saved by an earlier release up to this one, a version at a time.

    Home Assistant itself refuses an entry from a later major version before asking.
    """
    while entry.version < ENTRY_VERSION:
        _MIGRATIONS[entry.version](hass, entry)
        hass.config_entries.async_update_entry(entry, version=entry.version + 1, minor_version=1)


async def async_setup_entry(hass: HomeAssistant, entry: RlinkConfigEntry) -> None:
    transport: type[Transport] = (
        CloudAccount if entry.data.get(CONF_MODE) == MODE_CLOUD else LocalHub
    )
    coordinator = RlinkCoordinator(hass, entry, hass.data[DATA_MODELS], transport)
    entities = EntityFactory(hass, coordinator)
    await coordinator.async_start()
    entry.runtime_data = RlinkData(coordinator, entities)
    entry.async_on_unload(coordinator.async_stop)
    entry.async_on_unload(entry.add_update_listener(_entry_update_listener(entry)))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_ready()


def _entry_update_listener(entry: RlinkConfigEntry) -> UpdateListenerType:
    """What an edit of the entry needs, decided in one place.

    Devices (subentries) and options are followed without restarting the broker or the
    session; new connection settings (reauth, reconfigure) restart the entry with them.
    """
    started_with = dict(entry.data)

    async def entry_updated(hass: HomeAssistant, entry: RlinkConfigEntry) -> None:
        if dict(entry.data) != started_with:
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        coordinator = entry.runtime_data.coordinator
        coordinator.async_sync_subentries()
        await coordinator.async_options_changed()

    return entry_updated


async def async_remove_entry(hass: HomeAssistant, entry: RlinkConfigEntry) -> None:
    """The entry is deleted: its device cache and its devices' uploaded logs go with it,
    and so does the session an external broker keeps for the hub."""
    await Store[dict[str, Any]](hass, CACHE_VERSION, cache_key(entry.entry_id)).async_remove()
    logs = hass.data[DATA_DEVICE_LOGS]
    for subentry in entry.subentries.values():
        if uuid := subentry.data.get(CONF_UUID):
            await logs.async_forget(uuid)
    if entry.data.get(CONF_MODE) != MODE_CLOUD and entry.data.get(CONF_BROKER) == BROKER_EXTERNAL:
        await async_forget_broker_session(entry.data, entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: RlinkConfigEntry) -> None:
    """Home Assistant's current contract: nothing returned, a failure raised."""
    await hass.config_entries.async_unload_platforms_or_raise(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: RlinkConfigEntry, device_entry: DeviceEntry
) -> bool:
    """Sub-devices can be removed from the UI; devices with a subentry go with it.

    A cloud account's devices can be removed too: they come back if the cloud speaks of
    them again.
    """
    coordinator = entry.runtime_data.coordinator
    for domain, key in device_entry.identifiers:
        if domain != DOMAIN or (device := coordinator.devices.get(key)) is None:
            continue
        if device.subentry_id is not None and device.gateway is None:
            return False  # remove the device's subentry instead
        if not await coordinator.transport.async_remove_device(device):
            return False
    return True
