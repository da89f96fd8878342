"""Home Assistant's answers to device events: the `ResponderBackend` of the local hub.

The responder decides the protocol side (reply shape, status codes); this module supplies
what only Home Assistant knows (time zone, sun, weather, ICE servers, areas) and turns what
devices tell into device state, registry entries and events.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta, tzinfo
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import ATTR_TEMPERATURE, Platform, UnitOfTemperature
from homeassistant.core import State, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.sun import get_astral_event_date
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter
from yarl import URL

from ..const import (
    CONF_BIND_HOST,
    CONF_DEVICES,
    CONF_LOG_ENABLE,
    CONF_LOG_INTERVAL,
    CONF_LOG_MODE,
    CONF_REMOTE_CONFIG,
    CONF_TIME_ZONE,
    CONF_WEATHER_ENTITY,
    DOMAIN,
    EVENT_DEVICE_EVENT,
    EVENT_FIND_ALERT,
    SIGNAL_MODEL_EVENT,
    SIGNAL_WEBRTC,
)
from ..device import RlinkDevice
from ..ice import ice_servers, turn_auth
from ..map_render import map_link
from ..protocol.auth import is_device_uuid
from ..protocol.codes import DeviceCommand as Cmd
from ..protocol.codes import Status
from ..protocol.errors import ServiceNotActivated
from ..protocol.messages import JsonObject
from ..protocol.model import ObjectModel
from ..protocol.responder import DeviceRef, ResponderBackend, SubDeviceRef, SweeperStore
from . import gateway_data, store_credentials
from .device_logs import DATA_DEVICE_LOGS
from .gateway_data import REPORTED, GatewayConfigs

if TYPE_CHECKING:
    from ..coordinator import RlinkCoordinator

_LOGGER = logging.getLogger(__name__)

TURN_LIFETIME: Final = 86400
# What `info` may say of the network (its `config` is free-form; devices that report their
# signal there spare a ping): stored key -> key in `config`.
_NETWORK_FROM_INFO = {
    "currentSsid": "currentSsid",
    "mac": "mac",
    "ip": "ip",
    "networkType": "networkType",
    "signal": "signal",
    "signalValue": "signalValue",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class HubAnswers(ResponderBackend):
    """The backend of one hub's responder."""

    def __init__(self, coordinator: RlinkCoordinator, configs: GatewayConfigs) -> None:
        self.coordinator = coordinator
        self.configs = configs
        self.time_zones: dict[str, tzinfo] = {}
        self.store_credentials = store_credentials.StoreCredentials(
            coordinator.hass,
            lambda uuid: d.name if (d := coordinator.devices.get(uuid)) else uuid,
        )

    # --- helpers ------------------------------------------------------------------------

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

    # --- answers ------------------------------------------------------------------------

    def time_zone(self, device: DeviceRef) -> tzinfo:
        """The device's own zone once loaded (`async_load_time_zones`), else Home Assistant's."""
        override = self.coordinator.device_options(device.uuid).get(CONF_TIME_ZONE)
        zone = self.time_zones.get(override) if override else None
        return zone or dt_util.get_default_time_zone()

    async def async_load_time_zones(self) -> None:
        """Load the zones devices are set to: reading zone files is not for the event loop."""
        options = self.coordinator.entry.options.get(CONF_DEVICES, {})
        for name in {o.get(CONF_TIME_ZONE) for o in options.values()} - {None, ""}:
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

    # --- what devices tell --------------------------------------------------------------

    def bound(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._device(device)
        if data.get("cleanData"):
            self._forget(target)
        self.coordinator.update_versions(target, data)

    def info(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._device(device)
        self.coordinator.update_versions(target, data)
        raw = data.get("config")
        details: Any = raw
        if isinstance(raw, str):
            try:
                details = json.loads(raw)
            except ValueError:
                details = None
        if isinstance(details, dict):
            # The wifi list carries passwords: keep only what is safe to show.
            network = {k: details[v] for k, v in _NETWORK_FROM_INFO.items() if v in details}
            if network:
                target.network.update(network)
                target.notify(network)
                self.coordinator.save_values()

    def _forget(self, device: RlinkDevice) -> None:
        device.values.clear()
        device.passwords.clear()
        self.coordinator.sweepers.pop(device.uuid, None)
        self.configs.by_gateway.pop(device.uuid, None)
        device.notify()
        self.coordinator.save_soon()

    def reset(self, device: DeviceRef, clean_data: bool) -> None:
        target = self._device(device)
        _LOGGER.info(
            "%s was reset by its owner%s",
            target.name,
            " and asked to forget its data" if clean_data else "",
        )
        if clean_data:
            self._forget(target)

    def properties(self, device: DeviceRef, values: JsonObject) -> None:
        self.coordinator.apply_reported(self._device(device), values)

    def properties_info(self, device: DeviceRef, info: JsonObject) -> None:
        target = self._device(device)
        target.info.update(info)
        target.notify(set(info))

    def _subject(self, device: DeviceRef, data: JsonObject) -> RlinkDevice | None:
        """The device an event is about: the sub-device its `subUuid` names, or the sender."""
        sub_uuid = data.get("subUuid")
        if isinstance(sub_uuid, str) and sub_uuid:
            return self._sub(device, sub_uuid)
        return self._device(device)

    def ota_progress(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._subject(device, data)
        if target is None:
            return
        target.ota = dict(data)
        if data.get("type") == "report":
            self.coordinator.update_versions(target, data)
        target.notify({"ota"})

    def model_event(self, device: DeviceRef, identifier: str, output: JsonObject) -> None:
        target = self._device(device)
        self.coordinator.fire(EVENT_DEVICE_EVENT, target, identifier=identifier, output=output)
        async_dispatcher_send(
            self.coordinator.hass, SIGNAL_MODEL_EVENT.format(target.uuid), identifier, output
        )

    def find_alert(self, device: DeviceRef, data: JsonObject) -> None:
        self.coordinator.fire(EVENT_FIND_ALERT, self._subject(device, data) or self._device(device))

    def passwords(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._subject(device, data)
        if target is None:
            return
        self.coordinator.set_passwords(target, data["pwdList"])

    def webrtc_signal(self, device: DeviceRef, data: JsonObject) -> None:
        async_dispatcher_send(self.coordinator.hass, SIGNAL_WEBRTC.format(device.uuid), data)

    def sub_bound(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        """Bind what has a device uuid; the reply lists only those."""
        gateway = self._device(device)
        bound = []
        for sub in subs:
            if not is_device_uuid(sub.uuid):
                self.coordinator.log.warning(
                    ("sub", gateway.uuid, sub.uuid),
                    "Gateway %s bound a sub-device %r, which is not a device uuid; ignored",
                    gateway.uuid,
                    sub.uuid[:40],
                )
                continue
            added = self.coordinator.add_subdevice(gateway, sub.uuid, sub.pid or "")
            self.coordinator.update_versions(added, sub.raw)
            bound.append(sub)
        return bound

    def sub_deleted(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        removed = [s for s in subs if self._sub(device, s.uuid) is not None]
        for sub in removed:
            self.coordinator.remove_subdevice(sub.uuid)
        return removed

    def sub_presence(self, device: DeviceRef, subs: list[SubDeviceRef], online: bool) -> None:
        for ref in subs:
            found = self._learn_sub(device, ref.uuid, ref.pid) if online else None
            if (sub := found or self._sub(device, ref.uuid)) is not None:
                sub.seen()
                self.coordinator.set_online(sub, online)

    def sub_properties(self, device: DeviceRef, sub: SubDeviceRef, values: JsonObject) -> None:
        target = self._learn_sub(device, sub.uuid, sub.pid)
        if target is not None:
            target.seen()
            if not target.online:
                self.coordinator.set_online(target, True)
            self.coordinator.apply_reported(target, values)

    def found(self, device: DeviceRef, subs: list[SubDeviceRef]) -> None:
        gateway = self._device(device)
        self.coordinator.fire(
            f"{DOMAIN}_found_devices",
            gateway,
            devices=[{"uuid": s.uuid, "pid": s.pid} for s in subs],
        )

    def local_config_requested(self, device: DeviceRef) -> None:
        gateway = self._device(device)
        payload = self.configs.payload(gateway.uuid)
        if payload is None:
            _LOGGER.info(
                "%s asked for its local configuration; the hub knows none in full, so the "
                "gateway keeps its own",
                gateway.name,
            )
            return
        self._issue_later(gateway, Cmd.UPDATE_LOCAL_CONFIG, payload)

    def local_data_sync(self, device: DeviceRef, data: JsonObject) -> None:
        gateway = self._device(device)
        listed = [u for u in data.get("subUuids") or [] if isinstance(u, str)]
        for uuid in listed:
            self._learn_sub(device, uuid, None)
        for sub in self.coordinator.devices.values():
            if "subUuids" in data and sub.gateway == gateway.uuid and sub.uuid not in listed:
                self.coordinator.log.warning(
                    ("unlisted", sub.uuid),
                    "%s no longer lists its sub-device %s; remove it from Home Assistant "
                    "if it is gone",
                    gateway.name,
                    sub.name,
                )
        store = self.configs.store(gateway.uuid)
        gateway_data.merge_reported(store, data)
        self.coordinator.save_soon()
        self.coordinator.announce(gateway)  # scenes follow the executions that still exist
        subs = [
            self._sub_entry(s)
            for s in self.coordinator.devices.values()
            if s.gateway == gateway.uuid
        ]
        own = store[REPORTED].get("subUuids", [s["uuid"] for s in subs])
        self._issue_later(
            gateway, Cmd.GATEWAY_DATA_INIT, gateway_data.init_payload(store, subs, own)
        )

    @callback
    def _issue_later(self, gateway: RlinkDevice, code: Cmd, data: JsonObject) -> None:
        """Send a command after the current reply has gone out."""

        async def send() -> None:
            try:
                await self.coordinator.async_command(gateway, code, data, ack=False)
            except Exception as err:
                _LOGGER.warning("Could not send %s to %s: %s", code, gateway.name, err)

        self.coordinator.spawn(send(), f"rlink {code} {gateway.uuid}")
