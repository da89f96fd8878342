"""Which devices or account a service call is about, and the errors that say why it cannot be."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

import probatio
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service

from .const import DOMAIN
from .coordinator import RlinkCoordinator
from .device import RlinkDevice
from .errors import invalid

type Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]
"""A service's implementation; the modules offering services map names to these."""

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"

DEVICES: Final[dict[Any, Any]] = {
    probatio.Required(ATTR_DEVICE_ID): probatio.All(cv.ensure_list, [cv.string])
}
ONE_DEVICE: Final[dict[Any, Any]] = {
    probatio.Required(ATTR_DEVICE_ID): probatio.All(
        cv.ensure_list, probatio.Length(1, 1), [cv.string]
    )
}
ACCOUNT: Final[dict[Any, Any]] = {probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string}


def targets(call: ServiceCall) -> list[tuple[RlinkCoordinator, RlinkDevice]]:
    """The devices the call names, each with the hub or account that has it."""
    return [device_of(call.hass, device_id) for device_id in call.data[ATTR_DEVICE_ID]]


def device_of(hass: HomeAssistant, device_id: str) -> tuple[RlinkCoordinator, RlinkDevice]:
    """Home Assistant's own checks and words (a known device, rlink's, its entry loaded),
    then the device its hub or account knows under that registry entry."""
    entry, config_entry = service.async_get_device_and_config_entry(hass, DOMAIN, device_id)
    coordinator: RlinkCoordinator = config_entry.runtime_data.coordinator
    key = next((key for domain, key in entry.identifiers if domain == DOMAIN), None)
    if key is None or key not in coordinator.devices:
        # A registry entry left from a device its hub no longer has.
        raise invalid(
            "device_unknown",
            device=entry.name_by_user or entry.name or device_id,
            entry=config_entry.title,
        )
    return coordinator, coordinator.devices[key]
