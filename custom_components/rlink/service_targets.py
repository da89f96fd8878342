"""Which devices a service call is about, and the errors that say why it cannot be."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .device import RlinkDevice
from .runtime import DeviceRuntime

type Handler = Callable[[HomeAssistant, ServiceCall], Awaitable[ServiceResponse]]
"""A service's implementation; the modules offering services map names to these."""

DEVICES: Final[dict[Any, Any]] = {
    probatio.Required(ATTR_DEVICE_ID): probatio.All(cv.ensure_list, [cv.string])
}
ONE_DEVICE: Final[dict[Any, Any]] = {
    probatio.Required(ATTR_DEVICE_ID): probatio.All(
        cv.ensure_list, probatio.Length(1, 1), [cv.string]
    )
}


def targets(hass: HomeAssistant, call: ServiceCall) -> list[tuple[DeviceRuntime, RlinkDevice]]:
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


def _hub_of(hass: HomeAssistant, entry: dr.BaseDeviceEntry, uuid: str) -> DeviceRuntime:
    config_entry = hass.config_entries.async_get_entry(entry.config_entry_id)
    if config_entry is not None and config_entry.domain == DOMAIN:
        if config_entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="hub_not_loaded",
                translation_placeholders={"device": entry.name or uuid},
            )
        hub: DeviceRuntime = config_entry.runtime_data
        if uuid in hub.devices:
            return hub
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_an_rlink_device",
        translation_placeholders={"device_id": entry.id},
    )


def invalid(key: str, **placeholders: str) -> ServiceValidationError:
    """A translated error for a service call whose input cannot work."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )
