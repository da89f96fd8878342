"""Devices that knock on the device server without being known become discoveries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow

from .const import CONF_UUID, DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

CONF_HUB_ENTRY: str = "hub_entry_id"


@callback
def async_discovered_device(hass: HomeAssistant, entry: ConfigEntry, uuid: str) -> None:
    """Offer the user to add `uuid` to the hub of `entry` (once per flow)."""
    discovery_flow.async_create_flow(
        hass,
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={CONF_UUID: uuid, CONF_HUB_ENTRY: entry.entry_id},
    )
