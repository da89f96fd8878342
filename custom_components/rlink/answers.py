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

from homeassistant.components.web_rtc import async_get_ice_servers
from homeassistant.const import ATTR_TEMPERATURE, Platform, UnitOfTemperature
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.sun import get_astral_event_date
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter
from webrtc_models import RTCIceServer
from yarl import URL

from . import gateway_data
from .const import (
    CONF_BIND_HOST,
    CONF_LOG_ENABLE,
    CONF_LOG_INTERVAL,
    CONF_LOG_MODE,
    CONF_REMOTE_CONFIG,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_BUCKET,
    CONF_STORE_PUBLIC_URL,
    CONF_STORE_REGION,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_STORE_TYPE,
    CONF_TIME_ZONE,
    CONF_WEATHER_ENTITY,
    DOMAIN,
    EVENT_DEVICE_EVENT,
    EVENT_FIND_ALERT,
)
from .device import RlinkDevice
from .device_logs import DATA_DEVICE_LOGS
from .gateway_data import REPORTED
from .protocol.auth import is_device_uuid
from .protocol.codes import DeviceCommand as Cmd
from .protocol.codes import Status
from .protocol.errors import ServiceNotActivated
from .protocol.messages import JsonObject
from .protocol.model import ObjectModel
from .protocol.responder import DeviceRef, ResponderBackend, SubDeviceRef, SweeperStore

if TYPE_CHECKING:
    from .runtime import DeviceRuntime

_LOGGER = logging.getLogger(__name__)

SIGNAL_MODEL_EVENT = f"{DOMAIN}_model_event_{{}}"
"""Dispatcher signal per device uuid: (identifier, output)."""
SIGNAL_WEBRTC = f"{DOMAIN}_webrtc_{{}}"
"""Dispatcher signal per device uuid: the signalling data."""
_STORE_REQUIRED: Final = (CONF_STORE_BUCKET, CONF_STORE_ACCESS_KEY, CONF_STORE_SECRET_KEY)
TURN_LIFETIME: Final = 86400
STS_LIFETIME: Final = 3600
"""Seconds the upload credentials are said to last; they are the configured static keys."""
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


def ice_servers(hass: HomeAssistant) -> list[RTCIceServer]:
    """Home Assistant's ICE servers, as web_rtc (a dependency) offers them to browsers."""
    return list(async_get_ice_servers(hass))


def turn_auth(hass: HomeAssistant, lifetime: int) -> JsonObject | None:
    """The first TURN server's credentials in the protocol's `auth` shape, if any."""
    for server in ice_servers(hass):
        urls = [server.urls] if isinstance(server.urls, str) else list(server.urls)
        if server.username and any(u.startswith("turn") for u in urls):
            return {
                "userName": server.username,
                "password": server.credential or "",
                "expireSecond": lifetime,
            }
    return None


class HubAnswers(ResponderBackend):
    """The backend of one hub's responder."""

    def __init__(self, hub: DeviceRuntime) -> None:
        self.hub = hub
        self.sweepers: dict[str, SweeperStore] = {}
        self.local_configs: dict[str, JsonObject] = {}
        self.time_zones: dict[str, tzinfo] = {}

    # --- persistence --------------------------------------------------------------------

    def load(self, cache: dict[str, Any]) -> None:
        self.sweepers = {u: SweeperStore.load(s) for u, s in cache.get("sweepers", {}).items()}
        self.local_configs = dict(cache.get("local_configs", {}))

    def dump(self) -> dict[str, Any]:
        return {
            "sweepers": {u: s.dump() for u, s in self.sweepers.items()},
            "local_configs": self.local_configs,
        }

    # --- helpers ------------------------------------------------------------------------

    def _device(self, ref: DeviceRef) -> RlinkDevice:
        return self.hub.devices[ref.uuid]

    def _sub(self, gateway: DeviceRef, uuid: str) -> RlinkDevice | None:
        sub = self.hub.devices.get(uuid)
        if sub is None or sub.gateway != gateway.uuid:
            self.hub.log.warning(
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
        sub = self.hub.devices.get(uuid)
        if sub is not None and sub.gateway == gateway.uuid:
            if pid and not sub.pid:
                self.hub.add_subdevice(self._device(gateway), uuid, pid)
            return sub
        if sub is not None:
            self.hub.log.warning(
                ("sub", gateway.uuid, uuid),
                "Gateway %s spoke of %s, which is not one of its sub-devices; ignored",
                gateway.uuid,
                uuid,
            )
            return None
        if not is_device_uuid(uuid):
            self.hub.log.warning(
                ("sub", gateway.uuid, uuid),
                "Gateway %s spoke of a sub-device %r, which is not a device uuid; ignored",
                gateway.uuid,
                uuid[:40],
            )
            return None
        _LOGGER.info("Gateway %s has a sub-device new to Home Assistant: %s", gateway.uuid, uuid)
        return self.hub.add_subdevice(self._device(gateway), uuid, pid or "")

    # --- answers ------------------------------------------------------------------------

    def time_zone(self, device: DeviceRef) -> tzinfo:
        """The device's own zone once loaded (`async_load_time_zones`), else Home Assistant's."""
        override = self.hub.device_options(device.uuid).get(CONF_TIME_ZONE)
        zone = self.time_zones.get(override) if override else None
        return zone or dt_util.get_default_time_zone()

    async def async_load_time_zones(self) -> None:
        """Load the zones devices are set to: reading zone files is not for the event loop."""
        options = [self.hub.device_options(uuid) for uuid in self.hub.devices]
        for name in {str(o[CONF_TIME_ZONE]) for o in options if o.get(CONF_TIME_ZONE)}:
            if name not in self.time_zones and (zone := await dt_util.async_get_time_zone(name)):
                self.time_zones[name] = zone

    def model(self, pid: str) -> ObjectModel | None:
        return self.hub.models.get(pid)

    def remote_config(self, device: DeviceRef) -> JsonObject:
        return dict(self.hub.device_options(device.uuid).get(CONF_REMOTE_CONFIG) or {})

    def log_switch(self, device: DeviceRef) -> JsonObject:
        options = self.hub.device_options(device.uuid)
        if not options.get(CONF_LOG_ENABLE):
            return {"enable": 0}
        return {
            "enable": 1,
            "tttype": int(options.get(CONF_LOG_MODE, 1)),
            "intervalTime": int(options.get(CONF_LOG_INTERVAL, 10)),
        }

    def sub_list(self, device: DeviceRef) -> list[JsonObject]:
        subs = [self._sub_entry(s) for s in self.hub.devices.values() if s.gateway == device.uuid]
        if not subs and REPORTED not in self.local_configs.get(device.uuid, {}):
            # An empty list would tell the gateway it has no sub-devices: say instead that
            # the hub does not know them (yet).
            raise ServiceNotActivated(
                Status.SERVICE_NOT_ACTIVATED, "the hub does not know this gateway's sub-devices"
            )
        return subs

    def device_info(self, device: RlinkDevice) -> JsonObject:
        """Name and room as Home Assistant's registries have them (assetId = area id)."""
        entry = self.hub.registry_entry(device.uuid)
        area_id = entry.area_id if entry is not None else None
        area = ar.async_get(self.hub.hass).async_get_area(area_id) if area_id else None
        name = (entry.name_by_user or entry.name) if entry is not None else None
        return {
            "name": name or device.name,
            "assetId": area_id or "",
            "assetName": area.name if area is not None else "",
        }

    def _sub_entry(self, sub: RlinkDevice) -> JsonObject:
        return {"pid": sub.pid, "uuid": sub.uuid, **self.device_info(sub)}

    def weather(self, device: DeviceRef) -> JsonObject:
        hass = self.hub.hass
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
        hass = self.hub.hass
        chosen = self.hub.device_options(device.uuid).get(CONF_WEATHER_ENTITY)
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
        bind = str(self.hub.entry.data.get(CONF_BIND_HOST) or "")
        try:
            specific = bool(bind) and not ip_address(bind).is_unspecified
        except ValueError:
            specific = True  # a host name
        if specific:
            return bind
        try:
            url = get_url(self.hub.hass, allow_external=False, allow_cloud=False)
        except NoURLAvailableError:
            return None
        return URL(url).host

    def log_upload_url(self, device: DeviceRef) -> str | None:
        return self.hub.hass.data[DATA_DEVICE_LOGS].upload_url(device.uuid)

    def webrtc_config(self, device: DeviceRef) -> JsonObject:
        urls = [
            url
            for server in ice_servers(self.hub.hass)
            for url in ([server.urls] if isinstance(server.urls, str) else server.urls)
        ]
        stun = [u for u in urls if u.startswith("stun")]
        turn = [u for u in urls if u.startswith("turn")]
        if not stun and not turn:
            raise ServiceNotActivated(Status.SERVICE_NOT_ACTIVATED, "no ICE servers configured")
        answer: JsonObject = {"stunUrl": stun[0] if stun else "", "turnUrls": turn}
        if stun:
            answer["stunDomain"] = stun[0].split(":")[1]
        if (auth := turn_auth(self.hub.hass, TURN_LIFETIME)) is not None:
            answer["auth"] = auth
        return answer

    def sweeper(self, device: DeviceRef) -> SweeperStore:
        return self.sweepers.setdefault(device.uuid, SweeperStore())

    def map_link(self, device: DeviceRef, entry: JsonObject) -> str | None:
        path = str(entry.get("mapPath") or "")
        if path.startswith(("http://", "https://")):
            return path
        base = self.hub.device_options(device.uuid).get(CONF_STORE_PUBLIC_URL)
        return f"{str(base).rstrip('/')}/{path.lstrip('/')}" if base and path else None

    def sweeper_sts_token(self, device: DeviceRef, upload_type: str) -> JsonObject:
        options = self.hub.device_options(device.uuid)
        if not all(options.get(k) for k in _STORE_REQUIRED):
            return super().sweeper_sts_token(device, upload_type)
        return {
            "type": upload_type,
            "ossType": options.get(CONF_STORE_TYPE) or "S3",
            "bucketName": options[CONF_STORE_BUCKET],
            "region": options.get(CONF_STORE_REGION) or "",
            "accessKeyId": options[CONF_STORE_ACCESS_KEY],
            "secretAccessKey": options[CONF_STORE_SECRET_KEY],
            "sessionToken": options.get(CONF_STORE_SESSION_TOKEN) or "",
            "expiredTime": int(time.time()) + STS_LIFETIME,
            "authDir": f"{upload_type}/{device.uuid}/",
        }

    # --- what devices tell --------------------------------------------------------------

    def bound(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._device(device)
        if data.get("cleanData"):
            self._forget(target)
        self.hub.update_versions(target, data)

    def info(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._device(device)
        self.hub.update_versions(target, data)
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
                self.hub.save_values()

    def _forget(self, device: RlinkDevice) -> None:
        device.values.clear()
        device.passwords.clear()
        self.sweepers.pop(device.uuid, None)
        self.local_configs.pop(device.uuid, None)
        device.notify()
        self.hub.save_soon()

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
        self.hub.apply_reported(self._device(device), values)

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
            self.hub.update_versions(target, data)
        target.notify({"ota"})

    def model_event(self, device: DeviceRef, identifier: str, output: JsonObject) -> None:
        target = self._device(device)
        self.hub.fire(EVENT_DEVICE_EVENT, target, identifier=identifier, output=output)
        async_dispatcher_send(
            self.hub.hass, SIGNAL_MODEL_EVENT.format(target.uuid), identifier, output
        )

    def find_alert(self, device: DeviceRef, data: JsonObject) -> None:
        self.hub.fire(EVENT_FIND_ALERT, self._subject(device, data) or self._device(device))

    def passwords(self, device: DeviceRef, data: JsonObject) -> None:
        target = self._subject(device, data)
        if target is None:
            return
        self.hub.set_passwords(target, data["pwdList"])

    def webrtc_signal(self, device: DeviceRef, data: JsonObject) -> None:
        async_dispatcher_send(self.hub.hass, SIGNAL_WEBRTC.format(device.uuid), data)

    def sub_bound(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        """Bind what has a device uuid; the reply lists only those."""
        gateway = self._device(device)
        bound = []
        for sub in subs:
            if not is_device_uuid(sub.uuid):
                self.hub.log.warning(
                    ("sub", gateway.uuid, sub.uuid),
                    "Gateway %s bound a sub-device %r, which is not a device uuid; ignored",
                    gateway.uuid,
                    sub.uuid[:40],
                )
                continue
            added = self.hub.add_subdevice(gateway, sub.uuid, sub.pid or "")
            self.hub.update_versions(added, sub.raw)
            bound.append(sub)
        return bound

    def sub_deleted(self, device: DeviceRef, subs: list[SubDeviceRef]) -> list[SubDeviceRef]:
        removed = [s for s in subs if self._sub(device, s.uuid) is not None]
        for sub in removed:
            self.hub.remove_subdevice(sub.uuid)
        return removed

    def sub_presence(self, device: DeviceRef, subs: list[SubDeviceRef], online: bool) -> None:
        for ref in subs:
            found = self._learn_sub(device, ref.uuid, ref.pid) if online else None
            if (sub := found or self._sub(device, ref.uuid)) is not None:
                sub.seen()
                self.hub.set_online(sub, online)

    def sub_properties(self, device: DeviceRef, sub: SubDeviceRef, values: JsonObject) -> None:
        target = self._learn_sub(device, sub.uuid, sub.pid)
        if target is not None:
            target.seen()
            if not target.online:
                self.hub.set_online(target, True)
            self.hub.apply_reported(target, values)

    def found(self, device: DeviceRef, subs: list[SubDeviceRef]) -> None:
        gateway = self._device(device)
        self.hub.fire(
            f"{DOMAIN}_found_devices",
            gateway,
            devices=[{"uuid": s.uuid, "pid": s.pid} for s in subs],
        )

    def local_store(self, gateway: RlinkDevice) -> dict[str, Any]:
        """The gateway's groups, scenes and executions as the hub keeps them (with names)."""
        stored = self.local_configs.setdefault(gateway.uuid, gateway_data.empty_store())
        for key, value in gateway_data.empty_store().items():
            stored.setdefault(key, value)
        return stored

    def local_config_payload(self, gateway: RlinkDevice) -> JsonObject | None:
        """`update_local_config` with what the hub knows in full, or None."""
        return gateway_data.config_payload(self.local_store(gateway))

    def local_config_requested(self, device: DeviceRef) -> None:
        gateway = self._device(device)
        payload = self.local_config_payload(gateway)
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
        for sub in self.hub.devices.values():
            if "subUuids" in data and sub.gateway == gateway.uuid and sub.uuid not in listed:
                self.hub.log.warning(
                    ("unlisted", sub.uuid),
                    "%s no longer lists its sub-device %s; remove it from Home Assistant "
                    "if it is gone",
                    gateway.name,
                    sub.name,
                )
        store = self.local_store(gateway)
        gateway_data.merge_reported(store, data)
        self.hub.save_soon()
        self.hub.announce(gateway)  # scenes follow the executions that still exist
        subs = [self._sub_entry(s) for s in self.hub.devices.values() if s.gateway == gateway.uuid]
        own = store[REPORTED].get("subUuids", [s["uuid"] for s in subs])
        self._issue_later(
            gateway, Cmd.GATEWAY_DATA_INIT, gateway_data.init_payload(store, subs, own)
        )

    @callback
    def _issue_later(self, gateway: RlinkDevice, code: Cmd, data: JsonObject) -> None:
        """Send a command after the current reply has gone out."""

        async def send() -> None:
            try:
                await self.hub.async_command(gateway, code, data, ack=False)
            except Exception as err:
                _LOGGER.warning("Could not send %s to %s: %s", code, gateway.name, err)

        self.hub.spawn(send(), f"rlink {code} {gateway.uuid}")
