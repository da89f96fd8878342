"""The rlink integration: rlink MQTT 2.0 devices in Home Assistant."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, UpdateListenerType
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.hass_dict import HassKey

from .broker_auth import DATA_BROKER_AUTH, BrokerAuthRegistry, BrokerAuthView
from .cloud import RlinkCloud
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
from .device_logs import DATA_DEVICE_LOGS, DeviceLogs, DeviceLogUploadView, DeviceLogView
from .firmware import DATA_FIRMWARE, FirmwareCatalog, FirmwareView
from .hub import RlinkHub, async_forget_broker_session
from .models import ModelStore
from .runtime import CACHE_VERSION, DeviceRuntime, cache_key
from .services import async_setup_services

type RlinkConfigEntry = ConfigEntry[DeviceRuntime]

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
    runtime: DeviceRuntime
    if entry.data.get(CONF_MODE) == MODE_CLOUD:
        runtime = RlinkCloud(hass, entry, hass.data[DATA_MODELS])
    else:
        runtime = RlinkHub(hass, entry, hass.data[DATA_MODELS])
    await runtime.async_start()
    entry.runtime_data = runtime
    entry.async_on_unload(runtime.async_stop)
    entry.async_on_unload(entry.add_update_listener(_entry_update_listener(entry)))
    if isinstance(runtime, RlinkHub):
        _follow_time_zone(hass, entry, runtime)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    runtime.async_ready()


def _follow_time_zone(hass: HomeAssistant, entry: RlinkConfigEntry, hub: RlinkHub) -> None:
    """Devices on a local hub ask the hub for the time: tell them when the zone changes."""
    time_zone = hass.config.time_zone

    @callback
    def _core_config_updated(event: Event) -> None:
        nonlocal time_zone
        if hass.config.time_zone != time_zone:
            time_zone = hass.config.time_zone
            hub.push_time_to_all()

    entry.async_on_unload(hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, _core_config_updated))


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
        runtime = entry.runtime_data
        runtime.async_sync_subentries()
        runtime.async_refresh_profiles()
        if isinstance(runtime, RlinkHub):
            await runtime.answers.async_load_time_zones()

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
    runtime = entry.runtime_data
    for domain, key in device_entry.identifiers:
        if domain != DOMAIN or (device := runtime.devices.get(key)) is None:
            continue
        if device.subentry_id is not None and device.gateway is None:
            return False  # remove the device's subentry instead
        if isinstance(runtime, RlinkCloud):
            runtime.forget_device(key)
            continue
        if device.gateway is None:
            return False
        assert isinstance(runtime, RlinkHub)
        await runtime.async_unbind_subdevice(device)
        runtime.forget_subdevice(key)
    return True
