"""Services: the platform's device commands, for automations and scripts."""

from __future__ import annotations

from typing import Any, Final

import probatio
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service
from homeassistant.helpers.typing import VolSchemaType

from . import cloud_services, firmware, gateway_services, lock_codes
from .const import COMMAND_TIMEOUT, DOMAIN
from .device import RlinkDevice
from .protocol.codes import DeviceCommand as Cmd
from .protocol.codes import lookup
from .protocol.messages import JsonObject
from .runtime import DeviceRuntime
from .service_targets import DEVICES, ONE_DEVICE, Handler, invalid, redact, sub_field, targets

ATTR_PROPERTIES: Final = "properties"
ATTR_CODE: Final = "code"
ATTR_DATA: Final = "data"
ATTR_ACK: Final = "ack"
ATTR_TIMEOUT: Final = "timeout"
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


def _command_code(value: Any) -> Cmd:
    code = lookup(Cmd, cv.string(value))
    if code is None:
        raise probatio.Invalid(f"unknown command code {value!r}")
    return code


SCHEMAS: Final[dict[str, probatio.Schema]] = {
    "set_properties": probatio.Schema(
        {**DEVICES, probatio.Required(ATTR_PROPERTIES): probatio.All(dict, probatio.Length(min=1))}
    ),
    "send_command": probatio.Schema(
        {
            **ONE_DEVICE,
            probatio.Required(ATTR_CODE): _command_code,
            probatio.Optional(ATTR_DATA, default=dict): dict,
            probatio.Optional(ATTR_ACK): cv.boolean,
            probatio.Optional(ATTR_TIMEOUT, default=COMMAND_TIMEOUT): probatio.All(
                probatio.Coerce(float), probatio.Range(min=1, max=120)
            ),
        }
    ),
    "log_switch": probatio.Schema(
        {
            **DEVICES,
            probatio.Required(ATTR_ENABLE): cv.boolean,
            probatio.Optional(ATTR_MODE, default="single"): probatio.In(LOG_MODES),
            probatio.Optional(ATTR_INTERVAL, default=10): probatio.All(
                probatio.Coerce(int), probatio.Range(1, 360)
            ),
            probatio.Optional(ATTR_LEVEL, default="info"): probatio.In(LOG_LEVELS),
        }
    ),
    "config_settings": probatio.Schema(
        {
            **ONE_DEVICE,
            probatio.Required(ATTR_TYPE): probatio.In(CONFIG_TYPES),
            probatio.Required(ATTR_SETTINGS): dict,
        }
    ),
    "clear_data": probatio.Schema(DEVICES),
    "common_cmd": probatio.Schema(
        {
            **ONE_DEVICE,
            probatio.Required(ATTR_CMD_TYPE): cv.string,
            probatio.Optional(ATTR_CMD_DATA, default=dict): dict,
        }
    ),
}


async def _set_properties(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    by_runtime: dict[int, tuple[DeviceRuntime, list[RlinkDevice]]] = {}
    for hub, device in targets(hass, call):
        by_runtime.setdefault(id(hub), (hub, []))[1].append(device)
    for hub, devices in by_runtime.values():
        await hub.async_set_properties_many(devices, call.data[ATTR_PROPERTIES])
    return None


async def _send_command(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    ((hub, device),) = targets(hass, call)
    reply = await hub.async_command(
        hub.target(device),
        call.data[ATTR_CODE],
        call.data[ATTR_DATA],
        ack=call.data.get(ATTR_ACK),
        timeout=call.data[ATTR_TIMEOUT],
    )
    if reply is None:
        return {"sent": True}
    return {"res": reply.res or 0, "data": redact(reply.data)}


def _direct(hass: HomeAssistant, call: ServiceCall, code: Cmd) -> list[tuple[Any, Any]]:
    """The targets of a command the protocol gives no sub-device form: sent to a gateway,
    it would act on the gateway itself, so a sub-device among them refuses the call."""
    found = targets(hass, call)
    for _hub, device in found:
        if device.gateway:
            raise invalid("not_for_sub_device", device=device.name, command=str(code))
    return found


async def _log_switch(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    data: JsonObject = {"enable": int(call.data[ATTR_ENABLE])}
    if call.data[ATTR_ENABLE]:
        data |= {
            "type": LOG_MODES[call.data[ATTR_MODE]],
            "intervalTime": call.data[ATTR_INTERVAL],
            "level": LOG_LEVELS[call.data[ATTR_LEVEL]],
        }
    for hub, device in _direct(hass, call, Cmd.LOG_SWITCH):
        await hub.async_command(device, Cmd.LOG_SWITCH, data, ack=False)
    return None


async def _config_settings(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    ((hub, device),) = _direct(hass, call, Cmd.CONFIG_SETTINGS)
    data = {"type": call.data[ATTR_TYPE], "settings": call.data[ATTR_SETTINGS]}
    reply = await hub.async_command(device, Cmd.CONFIG_SETTINGS, data, ack=True)
    return redact(reply.data) if reply is not None else {}


async def _clear_data(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    for hub, device in targets(hass, call):
        await hub.async_command(hub.target(device), Cmd.CLEAN_DATA, sub_field(device), ack=False)
    return None


async def _common_cmd(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    ((hub, device),) = _direct(hass, call, Cmd.COMMON_CMD)
    data = {"cmdType": call.data[ATTR_CMD_TYPE], "cmdData": call.data[ATTR_CMD_DATA]}
    reply = await hub.async_command(device, Cmd.COMMON_CMD, data, ack=True)
    return redact(reply.data) if reply is not None else {}


# Service -> (handler, whether it answers with data).
HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    "set_properties": (_set_properties, SupportsResponse.NONE),
    "send_command": (_send_command, SupportsResponse.OPTIONAL),
    "log_switch": (_log_switch, SupportsResponse.NONE),
    "config_settings": (_config_settings, SupportsResponse.OPTIONAL),
    "clear_data": (_clear_data, SupportsResponse.NONE),
    "common_cmd": (_common_cmd, SupportsResponse.OPTIONAL),
}


_MODULES: Final = (gateway_services, firmware, cloud_services)
"""The other modules offering services that name devices or an account, each with its
`SCHEMAS` and `HANDLERS`."""
ALL_SCHEMAS: Final[dict[str, VolSchemaType]] = {
    **SCHEMAS,
    **{name: schema for m in _MODULES for name, schema in m.SCHEMAS.items()},
    # Lock codes act on a lock entity: their targets are Home Assistant's entity targets.
    **{
        name: cv.make_entity_service_schema(fields)
        for name, (fields, _handler, _response) in lock_codes.ENTITY_SERVICES.items()
    },
}
ALL_HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    **HANDLERS,
    **{name: handler for m in _MODULES for name, handler in m.HANDLERS.items()},
}
ALL_SERVICES: Final = frozenset(ALL_HANDLERS) | frozenset(lock_codes.ENTITY_SERVICES)


def async_setup_services(hass: HomeAssistant) -> None:
    for name, (handler, supports_response) in ALL_HANDLERS.items():

        async def call_handler(call: ServiceCall, handler: Handler = handler) -> ServiceResponse:
            return await handler(hass, call)

        hass.services.async_register(
            DOMAIN, name, call_handler, ALL_SCHEMAS[name], supports_response=supports_response
        )
    for name, (fields, lock_handler, supports_response) in lock_codes.ENTITY_SERVICES.items():
        service.async_register_platform_entity_service(
            hass,
            DOMAIN,
            name,
            entity_domain=LOCK_DOMAIN,
            schema=fields,
            func=lock_handler,
            supports_response=supports_response,
        )
