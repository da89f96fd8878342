"""Service actions: only what an automation needs and no entity offers.

Everything a device can do with no input, or with one value, is an entity (a button, a
switch, the update entity, a gateway's scenes); asking a device for its values again is
`homeassistant.update_entity`; a sub-device leaves through Home Assistant's own device
removal. What is left are the actions below, each with its reason in the README. They are
registered once, in `async_setup`, for every hub and account.
"""

from __future__ import annotations

from typing import Final

import probatio
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service
from homeassistant.helpers.typing import VolSchemaType

from . import firmware, gateway_services, lock_codes
from .cloud import services as cloud_services
from .const import DOMAIN
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .service_targets import DEVICES, Handler, targets

ATTR_PROPERTIES: Final = "properties"

SCHEMAS: Final[dict[str, probatio.Schema]] = {
    "set_properties": probatio.Schema(
        {**DEVICES, probatio.Required(ATTR_PROPERTIES): probatio.All(dict, probatio.Length(min=1))}
    ),
}


async def _set_properties(call: ServiceCall) -> ServiceResponse:
    """Several values in one message, to each device named; those of one hub or account
    go together (an account sends one batch call when the values are the same)."""
    by_coordinator: dict[int, tuple[RlinkCoordinator, list[RlinkDevice]]] = {}
    for coordinator, device in targets(call):
        by_coordinator.setdefault(id(coordinator), (coordinator, []))[1].append(device)
    for coordinator, devices in by_coordinator.values():
        await coordinator.async_set_properties_many(devices, call.data[ATTR_PROPERTIES])
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
    # Lock codes act on a lock entity: targets come in Home Assistant's entity service form.
    **{
        name: cv.make_entity_service_schema(schema)
        for name, (schema, _f, _r) in lock_codes.ENTITY_SERVICES.items()
    },
}
ALL_HANDLERS: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    **HANDLERS,
    **{name: handler for m in _MODULES for name, handler in m.HANDLERS.items()},
}
ALL_SERVICES: Final = frozenset(ALL_HANDLERS) | frozenset(lock_codes.ENTITY_SERVICES)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    for name, (handler, supports_response) in ALL_HANDLERS.items():
        hass.services.async_register(
            DOMAIN, name, handler, ALL_SCHEMAS[name], supports_response=supports_response
        )
    for name, (schema, func, supports_response) in lock_codes.ENTITY_SERVICES.items():
        service.async_register_platform_entity_service(
            hass,
            DOMAIN,
            name,
            entity_domain=LOCK_DOMAIN,
            schema=schema,
            func=func,
            supports_response=supports_response,
        )
