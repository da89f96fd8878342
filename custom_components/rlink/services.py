"""Services: the platform's device commands, for automations and scripts."""

from __future__ import annotations

from typing import Final

import probatio
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service
from homeassistant.helpers.typing import VolSchemaType

from . import cloud_services, firmware, gateway_services, lock_codes
from .const import DOMAIN
from .device import RlinkDevice
from .runtime import DeviceRuntime
from .service_targets import DEVICES, Handler, targets

ATTR_PROPERTIES: Final = "properties"

SCHEMAS: Final[dict[str, probatio.Schema]] = {
    "set_properties": probatio.Schema(
        {**DEVICES, probatio.Required(ATTR_PROPERTIES): probatio.All(dict, probatio.Length(min=1))}
    ),
}


async def _set_properties(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    by_runtime: dict[int, tuple[DeviceRuntime, list[RlinkDevice]]] = {}
    for hub, device in targets(hass, call):
        by_runtime.setdefault(id(hub), (hub, []))[1].append(device)
    for hub, devices in by_runtime.values():
        await hub.async_set_properties_many(devices, call.data[ATTR_PROPERTIES])
    return None


# Service -> (handler, whether it answers with data).
HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    "set_properties": (_set_properties, SupportsResponse.NONE),
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
