"""Diagnostics for a hub and for one device, with every secret redacted."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from . import RlinkConfigEntry
from .const import (
    CONF_ACCESS_TOKEN,
    CONF_APP_SECRET,
    CONF_AUTH_TOKEN,
    CONF_REST_URL,
    CONF_SECRET,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_PUBLIC_URL,
    CONF_STORE_ROLE_ARN,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_STORE_STS_URL,
    CONF_UNLOCK_PASSWORD,
    CONF_USER_ID,
    DOMAIN,
)
from .coordinator import RlinkCoordinator
from .device import RlinkDevice

# Keys whose values never leave Home Assistant: credentials, lock codes, wifi and TURN
# passwords, tokens.
TO_REDACT: Final = {
    CONF_PASSWORD,
    CONF_APP_SECRET,
    CONF_ACCESS_TOKEN,
    CONF_AUTH_TOKEN,  # it lets anyone answer for the broker's logins
    "Authorization",
    CONF_USERNAME,
    CONF_SECRET,
    "pwd",
    "password",
    "secret",
    "token",
    "rtmToken",
    "rtcToken",
    "sessionToken",
    "secretAccessKey",
    "accessKeyId",
    CONF_UNLOCK_PASSWORD,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_SECRET_KEY,
    CONF_STORE_SESSION_TOKEN,
    CONF_STORE_ROLE_ARN,  # it names the account
    CONF_STORE_STS_URL,  # the store's hosts: where the house's maps are
    "mapSignPath",
    "encryptSecret",
    "logUploadUrl",  # its signature lets anyone upload as the device
    "credential",
    "wifiList",
    "config",
    "userId",
    CONF_USER_ID,
    # Where the account and the house are: hosts, addresses, network names.
    CONF_HOST,
    CONF_REST_URL,
    "base_url",
    CONF_STORE_PUBLIC_URL,  # anyone may read the vacuum's maps from there
    "imageUrl",  # an alarm's photo: on the camera's own address, or a signed link
    "mac",
    "ip",
    "currentSsid",
    "ssid",
    # What commands carry: a signed download link, the broker's address, TURN user names,
    # and WebRTC offers and candidates (they hold the house's addresses).
    "url",
    "tcpUrl",
    "userName",
    "params",
}


def _device(coordinator: RlinkCoordinator, device: RlinkDevice) -> dict[str, Any]:
    model = device.model
    return {
        "uuid": device.uuid,
        "pid": device.pid,
        "gateway": device.gateway,
        "online": device.online,
        "available": coordinator.available(device),
        "version": device.version,
        "mcu_version": device.mcu_version,
        "network": device.network,
        "info": device.info,
        "values": device.values,
        "password_slots": len(device.passwords),
        "ota": device.ota,
        "model": None
        if model is None
        else {
            "inferred": device.model_inferred,
            "format": model.format,
            "version": model.version,
            "properties": {
                p.identifier: {"type": p.type, "access": p.access} for p in model.properties
            },
            "events": [e.identifier for e in model.events],
        },
        "last_messages": device.recent_messages(),
    }


def _hub(coordinator: RlinkCoordinator) -> dict[str, Any]:
    return {
        "mode": coordinator.transport.mode,
        **coordinator.transport.diagnostics(),
        "devices_online": sum(1 for d in coordinator.devices.values() if d.online),
        "devices": len(coordinator.devices),
        "models": coordinator.models.product_ids,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: RlinkConfigEntry
) -> dict[str, Any]:
    coordinator = entry.runtime_data.coordinator
    return async_redact_data(
        {
            "entry": {
                "data": dict(entry.data),
                "options": dict(entry.options),
                "subentries": [dict(s.data) for s in entry.subentries.values()],
            },
            "hub": _hub(coordinator),
            "devices": [_device(coordinator, d) for d in coordinator.devices.values()],
        },
        TO_REDACT,
    )


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: RlinkConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    coordinator = entry.runtime_data.coordinator
    uuid = next((i for d, i in device.identifiers if d == DOMAIN), None)
    known = coordinator.devices.get(uuid) if uuid is not None else None
    # A registry device the hub no longer knows (removed, not yet spoken of) has no state.
    found = _device(coordinator, known) if known is not None else None
    if found is not None and known is not None:
        found |= await coordinator.transport.async_device_diagnostics(known)
    return async_redact_data({"hub": _hub(coordinator), "device": found}, TO_REDACT)
