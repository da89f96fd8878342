"""What devices ask the local hub: the time, the weather, their settings, where to connect
and upload. `answers.HubAnswers` adds what they tell it."""

from __future__ import annotations

import logging
import time
from datetime import timedelta, tzinfo
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import ATTR_TEMPERATURE, Platform, UnitOfTemperature
from homeassistant.core import State
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.sun import get_astral_event_date
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter
from yarl import URL

from ..const import (
    CONF_BIND_HOST,
    CONF_LOG_ENABLE,
    CONF_LOG_INTERVAL,
    CONF_LOG_MODE,
    CONF_REMOTE_CONFIG,
    CONF_TIME_ZONE,
    CONF_WEATHER_ENTITY,
)
from ..device import RlinkDevice
from ..ice import ice_servers, turn_auth
from ..map_render import map_link
from ..protocol.auth import is_device_uuid
from ..protocol.codes import Status
from ..protocol.errors import ServiceNotActivated
from ..protocol.messages import JsonObject
from ..protocol.model import ObjectModel
from ..protocol.responder import DeviceRef, ResponderBackend, SweeperStore
from . import store_credentials
from .device_logs import DATA_DEVICE_LOGS
from .gateway_data import REPORTED, GatewayConfigs

if TYPE_CHECKING:
    from ..coordinator import RlinkCoordinator

_LOGGER = logging.getLogger(__name__)

TURN_LIFETIME: Final = 86400


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Questions(ResponderBackend):
    """The local hub's answers to what devices ask."""

    def __init__(self, coordinator: RlinkCoordinator, configs: GatewayConfigs) -> None:
        self.coordinator = coordinator
        self.configs = configs
        self.time_zones: dict[str, tzinfo] = {}
        self.store_credentials = store_credentials.StoreCredentials(
            coordinator.hass,
            lambda uuid: d.name if (d := coordinator.devices.get(uuid)) else uuid,
        )

    def _device(self, ref: DeviceRef) -> RlinkDevice:
        return self.coordinator.devices[ref.uuid]

    def _sub(self, gateway: DeviceRef, uuid: str) -> RlinkDevice | None:
        sub = self.coordinator.devices.get(uuid)
        if sub is None or sub.gateway != gateway.uuid:
            self.coordinator.log.warning(
                ("sub", gateway.uuid, uuid),
                "Gateway %s spoke of sub-device %s, which it never bound",
                gateway.uuid,
                uuid,
            )
            return None
        return sub

    def _learn_sub(self, gateway: DeviceRef, uuid: str, pid: str | None) -> RlinkDevice | None:
        """The sub-device a gateway speaks of, learned if it is new: the gateway is the
        master of its sub-devices, whether Home Assistant saw them bound or not."""
        sub = self.coordinator.devices.get(uuid)
        if sub is not None and sub.gateway == gateway.uuid:
            if pid and not sub.pid:
                self.coordinator.add_subdevice(self._device(gateway), uuid, pid)
            return sub
        if sub is not None:
            self.coordinator.log.warning(
                ("sub", gateway.uuid, uuid),
                "Gateway %s spoke of %s, which is not one of its sub-devices; ignored",
                gateway.uuid,
                uuid,
            )
            return None
        if not is_device_uuid(uuid):
            self.coordinator.log.warning(
                ("sub", gateway.uuid, uuid),
                "Gateway %s spoke of a sub-device %r, which is not a device uuid; ignored",
                gateway.uuid,
                uuid[:40],
            )
            return None
        _LOGGER.info("Gateway %s has a sub-device new to Home Assistant: %s", gateway.uuid, uuid)
        return self.coordinator.add_subdevice(self._device(gateway), uuid, pid or "")

    def time_zone(self, device: DeviceRef) -> tzinfo:
        """The device's own zone once loaded (`async_load_time_zones`), else Home Assistant's."""
        override = self.coordinator.device_options(device.uuid).get(CONF_TIME_ZONE)
        zone = self.time_zones.get(override) if override else None
        return zone or dt_util.get_default_time_zone()

    async def async_load_time_zones(self) -> None:
        """Load the zones devices are set to: reading zone files is not for the event loop."""
        options = [self.coordinator.device_options(uuid) for uuid in self.coordinator.devices]
        for name in {str(o[CONF_TIME_ZONE]) for o in options if o.get(CONF_TIME_ZONE)}:
            if name not in self.time_zones and (zone := await dt_util.async_get_time_zone(name)):
                self.time_zones[name] = zone

    def model(self, pid: str) -> ObjectModel | None:
        return self.coordinator.models.get(pid)

    def remote_config(self, device: DeviceRef) -> JsonObject:
        return dict(self.coordinator.device_options(device.uuid).get(CONF_REMOTE_CONFIG) or {})

    def log_switch(self, device: DeviceRef) -> JsonObject:
        options = self.coordinator.device_options(device.uuid)
        if not options.get(CONF_LOG_ENABLE):
            return {"enable": 0}
        return {
            "enable": 1,
            "tttype": int(options.get(CONF_LOG_MODE, 1)),
            "intervalTime": int(options.get(CONF_LOG_INTERVAL, 10)),
        }

    def sub_list(self, device: DeviceRef) -> list[JsonObject]:
        subs = [
            self._sub_entry(s)
            for s in self.coordinator.devices.values()
            if s.gateway == device.uuid
        ]
        if not subs and REPORTED not in self.configs.by_gateway.get(device.uuid, {}):
            # An empty list would tell the gateway it has no sub-devices: say instead that
            # the hub does not know them (yet).
            raise ServiceNotActivated(
                Status.SERVICE_NOT_ACTIVATED, "the hub does not know this gateway's sub-devices"
            )
        return subs

    def device_info(self, device: RlinkDevice) -> JsonObject:
        """Name and room as Home Assistant's registries have them (assetId = area id)."""
        entry = self.coordinator.registry_entry(device.uuid)
        area_id = entry.area_id if entry is not None else None
        area = ar.async_get(self.coordinator.hass).async_get_area(area_id) if area_id else None
        name = (entry.name_by_user or entry.name) if entry is not None else None
        return {
            "name": name or device.name,
            "assetId": area_id or "",
            "assetName": area.name if area is not None else "",
        }

    def _sub_entry(self, sub: RlinkDevice) -> JsonObject:
        return {"pid": sub.pid, "uuid": sub.uuid, **self.device_info(sub)}

    def weather(self, device: DeviceRef) -> JsonObject:
        hass = self.coordinator.hass
        today = dt_util.now().date()
        sunrise = get_astral_event_date(hass, "sunrise", today)
        sunset = get_astral_event_date(hass, "sunset", today)
        if sunrise is None or sunset is None:  # polar day or night
            sunrise = sunrise or dt_util.start_of_local_day(today)
            sunset = sunset or dt_util.start_of_local_day(today) + timedelta(days=1)
        answer: JsonObject = {
            "sunriseTs": int(sunrise.timestamp()),
            "sunsetTs": int(sunset.timestamp()),
        }
        if (state := self._weather_state(device)) is not None:
            temperature = state.attributes[ATTR_TEMPERATURE]
            unit = state.attributes.get("temperature_unit", UnitOfTemperature.CELSIUS)
            answer["temperature"] = round(
                TemperatureConverter.convert(temperature, unit, UnitOfTemperature.CELSIUS)
            )
        return answer

    def _weather_state(self, device: DeviceRef) -> State | None:
        """The weather entity whose temperature the device gets: the one chosen in its
        options, else the first of Home Assistant's weather entities that has one, so the
        answer is complete without a choice. None when there is no temperature to give:
        the key is then left out rather than made up."""
        hass = self.coordinator.hass
        chosen = self.coordinator.device_options(device.uuid).get(CONF_WEATHER_ENTITY)
        states = (
            [hass.states.get(chosen)]
            if chosen
            else sorted(hass.states.async_all(Platform.WEATHER), key=lambda s: s.entity_id)
        )
        return next(
            (s for s in states if s is not None and _is_number(s.attributes.get(ATTR_TEMPERATURE))),
            None,
        )

    def tcp_url(self, device: DeviceRef) -> str | None:
        """The host a low-power device is to keep its TCP link with: Home Assistant's own.

        Home Assistant runs no separate low-power service. The host it is reached at is
        named all the same, so a device that opens such a link turns to the machine that
        already acts as its cloud rather than to some other host. That is the device
        server's listening address when it has a specific one, else the host of Home
        Assistant's local URL (where devices also fetch firmware): a bare host, as in the
        protocol's example. None when neither is known.
        """
        bind = str(self.coordinator.entry.data.get(CONF_BIND_HOST) or "")
        try:
            specific = bool(bind) and not ip_address(bind).is_unspecified
        except ValueError:
            specific = True  # a host name
        if specific:
            return bind
        try:
            url = get_url(self.coordinator.hass, allow_external=False, allow_cloud=False)
        except NoURLAvailableError:
            return None
        return URL(url).host

    def log_upload_url(self, device: DeviceRef) -> str | None:
        return self.coordinator.hass.data[DATA_DEVICE_LOGS].upload_url(device.uuid)

    def webrtc_config(self, device: DeviceRef) -> JsonObject:
        urls = [
            url
            for server in ice_servers(self.coordinator.hass)
            for url in ([server.urls] if isinstance(server.urls, str) else server.urls)
        ]
        stun = [u for u in urls if u.startswith("stun")]
        turn = [u for u in urls if u.startswith("turn")]
        if not stun and not turn:
            raise ServiceNotActivated(Status.SERVICE_NOT_ACTIVATED, "no ICE servers configured")
        answer: JsonObject = {"stunUrl": stun[0] if stun else "", "turnUrls": turn}
        if stun:
            answer["stunDomain"] = stun[0].split(":")[1]
        if (auth := turn_auth(self.coordinator.hass, TURN_LIFETIME)) is not None:
            answer["auth"] = auth
        return answer

    def sweeper(self, device: DeviceRef) -> SweeperStore:
        return self.coordinator.sweeper(device.uuid)

    def map_link(self, device: DeviceRef, entry: JsonObject) -> str | None:
        return map_link(self.coordinator.device_options(device.uuid), entry)

    def sweeper_sts_token(self, device: DeviceRef, upload_type: str) -> JsonObject:
        options = self.coordinator.device_options(device.uuid)
        if not store_credentials.configured(options):
            return super().sweeper_sts_token(device, upload_type)
        return store_credentials.long_lived_grant(options, device.uuid, upload_type, time.time())

    async def async_sweeper_sts_token(self, device: DeviceRef, upload_type: str) -> JsonObject:
        options = self.coordinator.device_options(device.uuid)
        if not store_credentials.configured(options) or not store_credentials.issues_temporary(
            options
        ):
            return self.sweeper_sts_token(device, upload_type)
        return await self.store_credentials.grant(options, device.uuid, upload_type)
