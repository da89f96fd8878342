"""Services: the platform's device commands, for automations and scripts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

from .const import COMMAND_TIMEOUT, DOMAIN
from .device import RlinkDevice
from .hub import RlinkHub
from .protocol.codes import DeviceCommand as Cmd
from .protocol.codes import lookup
from .protocol.messages import JsonObject

ATTR_PROPERTIES: Final = "properties"
ATTR_CODE: Final = "code"
ATTR_DATA: Final = "data"
ATTR_ACK: Final = "ack"
ATTR_TIMEOUT: Final = "timeout"
ATTR_CLEAR_DATA: Final = "clear_data"
ATTR_ENABLE: Final = "enable"
ATTR_MODE: Final = "mode"
ATTR_INTERVAL: Final = "interval"
ATTR_LEVEL: Final = "level"
ATTR_TYPE: Final = "type"
ATTR_SETTINGS: Final = "settings"
ATTR_CMD_TYPE: Final = "cmd_type"
ATTR_CMD_DATA: Final = "cmd_data"

LOG_MODES: Final = {"single": 1, "cyclic": 2}
LOG_LEVELS: Final = {"debug": 1, "info": 2, "warn": 3, "error": 4}
CONFIG_TYPES: Final = ("white_list", "wifi_list", "wifi_set", "aligenie_sp_config")
_SECRET_KEYS: Final = frozenset({"pwd", "password", "secret"})

_DEVICES: dict[Any, Any] = {vol.Required(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string])}
_ONE_DEVICE: dict[Any, Any] = {
    vol.Required(ATTR_DEVICE_ID): vol.All(cv.ensure_list, vol.Length(1, 1), [cv.string])
}


def _command_code(value: Any) -> Cmd:
    code = lookup(Cmd, cv.string(value))
    if code is None:
        raise vol.Invalid(f"unknown command code {value!r}")
    return code


SCHEMAS: Final[dict[str, vol.Schema]] = {
    "set_properties": vol.Schema(
        {**_DEVICES, vol.Required(ATTR_PROPERTIES): vol.All(dict, vol.Length(min=1))}
    ),
    "refresh": vol.Schema(_DEVICES),
    "send_command": vol.Schema(
        {
            **_ONE_DEVICE,
            vol.Required(ATTR_CODE): _command_code,
            vol.Optional(ATTR_DATA, default=dict): dict,
            vol.Optional(ATTR_ACK): cv.boolean,
            vol.Optional(ATTR_TIMEOUT, default=COMMAND_TIMEOUT): vol.All(
                vol.Coerce(float), vol.Range(min=1, max=120)
            ),
        }
    ),
    "reboot": vol.Schema(_DEVICES),
    "reset": vol.Schema({**_DEVICES, vol.Optional(ATTR_CLEAR_DATA, default=False): cv.boolean}),
    "log_switch": vol.Schema(
        {
            **_DEVICES,
            vol.Required(ATTR_ENABLE): cv.boolean,
            vol.Optional(ATTR_MODE, default="single"): vol.In(LOG_MODES),
            vol.Optional(ATTR_INTERVAL, default=10): vol.All(vol.Coerce(int), vol.Range(1, 360)),
            vol.Optional(ATTR_LEVEL, default="info"): vol.In(LOG_LEVELS),
        }
    ),
    "config_settings": vol.Schema(
        {
            **_ONE_DEVICE,
            vol.Required(ATTR_TYPE): vol.In(CONFIG_TYPES),
            vol.Required(ATTR_SETTINGS): dict,
        }
    ),
    "clear_data": vol.Schema(_DEVICES),
    "common_cmd": vol.Schema(
        {
            **_ONE_DEVICE,
            vol.Required(ATTR_CMD_TYPE): cv.string,
            vol.Optional(ATTR_CMD_DATA, default=dict): dict,
        }
    ),
}


def _targets(hass: HomeAssistant, call: ServiceCall) -> list[tuple[RlinkHub, RlinkDevice]]:
    registry = dr.async_get(hass)
    targets = []
    for device_id in call.data[ATTR_DEVICE_ID]:
        entry = registry.async_get(device_id)
        uuid = next((i for d, i in entry.identifiers if d == DOMAIN), None) if entry else None
        if entry is None or uuid is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_an_rlink_device",
                translation_placeholders={"device_id": device_id},
            )
        hub = _hub_of(hass, entry, uuid)
        targets.append((hub, hub.devices[uuid]))
    return targets


def _hub_of(hass: HomeAssistant, entry: dr.DeviceEntry, uuid: str) -> RlinkHub:
    for entry_id in entry.config_entries:
        config_entry = hass.config_entries.async_get_entry(entry_id)
        if config_entry is None or config_entry.domain != DOMAIN:
            continue
        if config_entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="hub_not_loaded",
                translation_placeholders={"device": entry.name or uuid},
            )
        hub: RlinkHub = config_entry.runtime_data
        if uuid in hub.devices:
            return hub
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_an_rlink_device",
        translation_placeholders={"device_id": entry.id},
    )


def _redact(value: Any) -> Any:
    """Replies may echo wifi passwords; a service response is not the place for them."""
    if isinstance(value, dict):
        return {k: "**REDACTED**" if k in _SECRET_KEYS else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _sub(device: RlinkDevice, key: str = "subUuid") -> JsonObject:
    """The field naming a sub-device in commands its gateway carries."""
    return {key: device.uuid} if device.gateway else {}


async def _set_properties(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    for hub, device in _targets(hass, call):
        await hub.async_set_properties(device, call.data[ATTR_PROPERTIES])
    return None


async def _refresh(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    for hub, device in _targets(hass, call):
        await hub.async_refresh(device)
    return None


async def _send_command(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    ((hub, device),) = _targets(hass, call)
    reply = await hub.async_command(
        hub.target(device),
        call.data[ATTR_CODE],
        call.data[ATTR_DATA],
        ack=call.data.get(ATTR_ACK),
        timeout=call.data[ATTR_TIMEOUT],
    )
    if reply is None:
        return {"sent": True}
    return {"res": reply.res or 0, "data": _redact(reply.data)}


async def _reboot(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    for hub, device in _targets(hass, call):
        await hub.async_command(hub.target(device), Cmd.REBOOT, _sub(device), ack=False)
    return None


async def _reset(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    for hub, device in _targets(hass, call):
        data = {"clearData": call.data[ATTR_CLEAR_DATA], **_sub(device)}
        await hub.async_command(hub.target(device), Cmd.RESET, data, ack=False)
    return None


async def _log_switch(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    data: JsonObject = {"enable": int(call.data[ATTR_ENABLE])}
    if call.data[ATTR_ENABLE]:
        data |= {
            "type": LOG_MODES[call.data[ATTR_MODE]],
            "intervalTime": call.data[ATTR_INTERVAL],
            "level": LOG_LEVELS[call.data[ATTR_LEVEL]],
        }
    for hub, device in _targets(hass, call):
        await hub.async_command(hub.target(device), Cmd.LOG_SWITCH, data, ack=False)
    return None


async def _config_settings(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    ((hub, device),) = _targets(hass, call)
    data = {"type": call.data[ATTR_TYPE], "settings": call.data[ATTR_SETTINGS]}
    reply = await hub.async_command(hub.target(device), Cmd.CONFIG_SETTINGS, data, ack=True)
    return _redact(reply.data) if reply is not None else {}


async def _clear_data(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    for hub, device in _targets(hass, call):
        await hub.async_command(hub.target(device), Cmd.CLEAN_DATA, _sub(device), ack=False)
    return None


async def _common_cmd(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    ((hub, device),) = _targets(hass, call)
    data = {"cmdType": call.data[ATTR_CMD_TYPE], "cmdData": call.data[ATTR_CMD_DATA]}
    reply = await hub.async_command(hub.target(device), Cmd.COMMON_CMD, data, ack=True)
    return _redact(reply.data) if reply is not None else {}


type Handler = Callable[[HomeAssistant, ServiceCall], Awaitable[ServiceResponse]]

# Service -> (handler, whether it answers with data).
HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    "set_properties": (_set_properties, SupportsResponse.NONE),
    "refresh": (_refresh, SupportsResponse.NONE),
    "send_command": (_send_command, SupportsResponse.OPTIONAL),
    "reboot": (_reboot, SupportsResponse.NONE),
    "reset": (_reset, SupportsResponse.NONE),
    "log_switch": (_log_switch, SupportsResponse.NONE),
    "config_settings": (_config_settings, SupportsResponse.OPTIONAL),
    "clear_data": (_clear_data, SupportsResponse.NONE),
    "common_cmd": (_common_cmd, SupportsResponse.OPTIONAL),
}


def async_setup_services(hass: HomeAssistant) -> None:
    for name, (handler, supports_response) in HANDLERS.items():

        async def call_handler(call: ServiceCall, handler: Handler = handler) -> ServiceResponse:
            return await handler(hass, call)

        hass.services.async_register(
            DOMAIN, name, call_handler, SCHEMAS[name], supports_response=supports_response
        )
